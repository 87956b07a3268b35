//! The checked-in routine table is current, and the generator refuses
//! inputs that would change a routine's rule silently.

use kmdf_sim_gen::kmdf_sim_dir;
use kmdf_sim_gen::routines::{OUTPUT, RoutineRow, expected, generate, routine_rows};

const DDI_HEADER: &str = "ddi\treturn_type\tirql_max\tparam_count\tparams\theader\n";
const OVERRIDE_HEADER: &str = "ddi\tirql_max\tbasis\n";
const KERNEL_HEADER: &str = "routine\tirql_max\tbasis\n";

#[test]
fn generated_routine_table_is_current() {
    let (expected, counts) = expected(&kmdf_sim_dir()).unwrap_or_else(|e| panic!("{e}"));
    let path = kmdf_sim_dir().join(OUTPUT);
    let actual = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        actual == expected,
        "{} is not what the generator makes from the DDI and kernel-routine tables ({counts:?}).\n\
         Regenerate it: cargo run -p kmdf-sim-gen -- write routines",
        path.display()
    );
}

#[test]
fn the_checked_in_inputs_give_every_served_rule() {
    let dir = kmdf_sim_dir();
    let read = |p: &str| std::fs::read_to_string(dir.join(p)).expect("input reads");
    let rows = routine_rows(
        &read("data/kmdf-1.33-ddi.tsv"),
        &read("data/ddi-irql-overrides.tsv"),
        &read("data/kernel-routines.tsv"),
    )
    .unwrap_or_else(|p| panic!("{}", p.join("\n")));
    let rule = |name: &str| rows.iter().find(|r| r.name == name).map(|r| r.max_irql);
    assert_eq!(rule("WdfRegistryQueryULong"), Some(Some(0)));
    assert_eq!(rule("WdfObjectDelete"), Some(Some(2)));
    assert_eq!(rule("WdfObjectGetTypedContextWorker"), Some(Some(15)), "an empty column, overridden");
    assert_eq!(rule("WdfTimerStop"), Some(Some(2)), "Wait FALSE allows DISPATCH_LEVEL");
    assert_eq!(rule("WdfWaitLockAcquire"), Some(Some(2)), "a zero Timeout allows DISPATCH_LEVEL");
    assert_eq!(rule("ZwClose"), Some(Some(0)));
    assert_eq!(rule("ExFreePoolWithTag"), Some(Some(2)));
    assert_eq!(rule("RtlInitUnicodeString"), Some(None));
    // Every DDI row has a rule; the kernel routines come after the DDIs.
    let ddis = read("data/kmdf-1.33-ddi.tsv").lines().skip(1).filter(|l| !l.trim().is_empty()).count();
    assert!(rows[..ddis].iter().all(|r| r.max_irql.is_some()), "a DDI without a rule");
    assert_eq!(rows[ddis].name, "DbgPrint", "the first kernel routine, by name");
    assert_eq!(rule("DbgPrint"), Some(None), "any IRQL: its Unicode rule is checked inside");
}

#[test]
fn a_ddi_without_a_level_or_override_is_refused() {
    let ddi = format!("{DDI_HEADER}WdfA\tVOID\t\t0\t\ta.h\nWdfB\tVOID\tPASSIVE_LEVEL\t0\t\tb.h\n");
    let p = routine_rows(&ddi, OVERRIDE_HEADER, KERNEL_HEADER).expect_err("WdfA has no rule");
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(p[0].contains("WdfA: no irql_max and no override"), "{p:?}");
    let overrides = format!("{OVERRIDE_HEADER}WdfA\tHIGH_LEVEL\tASSUMPTION: any IRQL\n");
    let rows = routine_rows(&ddi, &overrides, KERNEL_HEADER).expect("overridden");
    assert_eq!(rows[0], RoutineRow { name: "WdfA".into(), max_irql: Some(15), basis: "ASSUMPTION: any IRQL".into() });
    assert_eq!(rows[1].max_irql, Some(0));
}

#[test]
fn bad_overrides_and_kernel_rows_are_refused() {
    let ddi = format!("{DDI_HEADER}WdfB\tVOID\tPASSIVE_LEVEL\t0\t\tb.h\n");
    let overrides =
        format!("{OVERRIDE_HEADER}WdfB\tPASSIVE_LEVEL\tsame as the table\nWdfGone\tHIGH_LEVEL\tx\nWdfB\tDIRQL\tx\n");
    let kernel = format!("{KERNEL_HEADER}ZwClose\tLOW\tF39\nWdfB\tPASSIVE_LEVEL\tx\nExFoo\t-\t\n");
    let p = routine_rows(&ddi, &overrides, &kernel).expect_err("bad inputs");
    for want in [
        "WdfB: listed twice",
        "WdfB: unknown level \"DIRQL\"",
        "WdfGone: not a DDI",
        "ZwClose: unknown level \"LOW\"",
        "ExFoo: no basis given",
        "WdfB: listed twice (a DDI row, or a kernel routine that is also a DDI)",
    ] {
        assert!(p.iter().any(|x| x.contains(want)), "missing {want:?} in {p:?}");
    }
    let same = format!("{OVERRIDE_HEADER}WdfB\tPASSIVE_LEVEL\tsame as the table\n");
    let p = routine_rows(&ddi, &same, KERNEL_HEADER).expect_err("an override of nothing");
    assert!(p[0].contains("WdfB: the table already says PASSIVE_LEVEL"), "{p:?}");
    let p = routine_rows("name\tirql\n", OVERRIDE_HEADER, KERNEL_HEADER).expect_err("a bad header");
    assert!(p[0].contains("line 1: expected the header"), "{p:?}");
}

#[test]
fn the_output_indexes_names_and_levels_alike() {
    let ddi = format!("{DDI_HEADER}WdfB\tVOID\tAPC_LEVEL\t0\t\tb.h\n");
    let kernel = format!("{KERNEL_HEADER}ZwClose\tPASSIVE_LEVEL\tF39\nRtlX\t-\tno rule\n");
    let (text, counts) = generate(&ddi, OVERRIDE_HEADER, &kernel).expect("valid inputs");
    assert_eq!((counts.ddis, counts.overridden, counts.kernel), (1, 0, 2));
    for want in [
        "pub(crate) enum Routine {\n    /// b.h: APC_LEVEL\n    WdfB = 0,\n    /// F39\n    ZwClose = 1,",
        "pub(crate) const COUNT: usize = 3;",
        "pub(crate) const NAME: [&str; COUNT] = [\n    \"WdfB\",\n    \"ZwClose\",\n    \"RtlX\",\n];",
        "pub(crate) const MAX_IRQL: [Option<u8>; COUNT] = [\n    Some(1), // WdfB\n    Some(0), // ZwClose\n    None, // RtlX\n];",
        "pub(crate) const DDI_COUNT: usize = 1;",
        "pub(crate) const SYMBOL: [&str; COUNT] = [\n    \"Wdf01000!imp_WdfB\",\n    \"nt!ZwClose\",\n    \"nt!RtlX\",\n];",
    ] {
        assert!(text.contains(want), "missing {want:?} in\n{text}");
    }
}

#[test]
fn the_coverage_table_is_current_and_every_kernel_routine_is_served() {
    let (expected, c) = kmdf_sim_gen::coverage::expected(&kmdf_sim_dir()).unwrap_or_else(|e| panic!("{e}"));
    let path = kmdf_sim_dir().join(kmdf_sim_gen::coverage::OUTPUT);
    let actual = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        actual == expected,
        "{} is not what the generator makes ({c:?}). Regenerate it: cargo run -p kmdf-sim-gen -- write coverage",
        path.display()
    );
    assert_eq!(c.kernel_implemented, c.kernel, "data/kernel-routines.tsv lists only routines the surface serves");
    assert!(c.ddis_implemented > 0 && c.ddis_implemented < c.ddis, "{c:?}");
    assert!(actual.contains(&format!("implemented: **{}/{}**", c.ddis_implemented, c.ddis)));
}

#[test]
fn implemented_means_a_public_function_of_the_surface() {
    let names = kmdf_sim_gen::coverage::public_functions(
        "pub unsafe extern \"C\" fn A() {}\nfn B() {}\nunsafe extern \"C\" { pub fn C(x: u8, ...) -> u32; fn D(); }",
    )
    .expect("parses");
    assert_eq!(names.into_iter().collect::<Vec<_>>(), ["A", "C"]);
    let rows = [
        RoutineRow { name: "WdfA".into(), max_irql: Some(2), basis: String::new() },
        RoutineRow { name: "WdfB".into(), max_irql: Some(0), basis: String::new() },
        RoutineRow { name: "KeA".into(), max_irql: None, basis: "any | all".into() },
    ];
    let implemented = ["WdfB".to_string(), "KeA".to_string()].into_iter().collect();
    let (text, c) = kmdf_sim_gen::coverage::generate(&rows, 2, &implemented);
    assert_eq!((c.ddis_implemented, c.ddis, c.kernel_implemented, c.kernel), (1, 2, 1, 1));
    assert!(text.contains("| `WdfA` | no | DISPATCH_LEVEL |"), "{text}");
    assert!(text.contains("| `KeA` | yes | — (no rule) | any \\| all |"), "a | in a basis is escaped: {text}");
}
