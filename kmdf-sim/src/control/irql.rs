//! IRQL rules: the maximum IRQL of each KMDF DDI (the `irql_max` column of
//! `data/kmdf-1.33-ddi.tsv`, from the KMDF 1.33 headers' SAL annotations) and
//! of the kernel routines the simulator serves.

use std::collections::HashMap;
use std::sync::OnceLock;

const DDI_TABLE: &str = include_str!("../../data/kmdf-1.33-ddi.tsv");

/// KIRQL values of the level names the table uses.
fn level(name: &str) -> Option<u8> {
    Some(match name {
        "PASSIVE_LEVEL" => 0,
        "APC_LEVEL" => 1,
        "DISPATCH_LEVEL" => 2,
        "HIGH_LEVEL" => 15,
        _ => return None,
    })
}

/// The 13 DDIs whose `irql_max` column is empty. ASSUMPTION for each: the
/// context helpers are declared `_IRQL_requires_max_(DISPATCH_LEVEL+1)` in
/// KMDF's own export header (fxdynamics.h) and are callable from an ISR at
/// DIRQL; the interrupt DDIs run at DIRQL; the verifier, triage and
/// error-report entries must work anywhere. None of them gets a check.
const UNANNOTATED: &[&str] = &[
    "WdfDriverErrorReportApiMissing",
    "WdfDriverMiniportUnload",
    "WdfGetTriageInfo",
    "WdfInterruptAcquireLock",
    "WdfInterruptGetDevice",
    "WdfInterruptQueueDpcForIsr",
    "WdfInterruptQueueWorkItemForIsr",
    "WdfInterruptReleaseLock",
    "WdfInterruptWdmGetInterrupt",
    "WdfObjectContextGetObject",
    "WdfObjectGetTypedContextWorker",
    "WdfVerifierDbgBreakPoint",
    "WdfVerifierKeBugCheck",
];

fn table() -> &'static HashMap<&'static str, u8> {
    static TABLE: OnceLock<HashMap<&'static str, u8>> = OnceLock::new();
    TABLE.get_or_init(|| {
        DDI_TABLE
            .lines()
            .skip(1)
            .filter_map(|line| {
                let mut cols = line.split('\t');
                let name = cols.next()?;
                let max = cols.nth(1)?;
                let max = level(max).or_else(|| UNANNOTATED.contains(&name).then_some(15))?;
                Some((name, max))
            })
            .collect()
    })
}

/// The highest IRQL `routine` may be called at: KMDF DDIs from the table,
/// the `Zw*` registry routines at PASSIVE_LEVEL (their DDI pages; F39 for
/// ZwClose). `None` for routines without a rule (pure library routines).
pub(crate) fn max_irql(routine: &str) -> Option<u8> {
    if routine.starts_with("Zw") || routine == "NtClose" || routine == "ObCloseHandle" {
        return Some(0);
    }
    // ExAllocatePool2 / ExFreePool(WithTag): DISPATCH_LEVEL for nonpaged
    // pool (their DDI pages; paged pool's APC_LEVEL is checked in the
    // routine, which knows the pool type).
    if matches!(routine, "ExAllocatePool2" | "ExFreePool" | "ExFreePoolWithTag") {
        return Some(2);
    }
    // The table's PASSIVE_LEVEL for WdfTimerStop is its `_When_(Wait ==
    // TRUE)` annotation; with Wait FALSE the header allows DISPATCH_LEVEL
    // (wdftimer.h). The Wait case is checked inside the DDI.
    // Likewise WdfWaitLockAcquire: PASSIVE_LEVEL unless Timeout is 0.
    if routine == "WdfTimerStop" || routine == "WdfWaitLockAcquire" {
        return Some(2);
    }
    table().get(routine).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_ddi_row_has_a_rule() {
        let rows = DDI_TABLE.lines().skip(1).filter(|l| !l.trim().is_empty()).count();
        assert_eq!(table().len(), rows, "a row with an unknown irql_max value");
        assert_eq!(max_irql("WdfRegistryQueryULong"), Some(0));
        assert_eq!(max_irql("WdfObjectDelete"), Some(2));
        assert_eq!(max_irql("WdfObjectGetTypedContextWorker"), Some(15));
        assert_eq!(max_irql("ZwClose"), Some(0));
        assert_eq!(max_irql("ExAllocatePool2"), Some(2));
        assert_eq!(max_irql("WdfTimerStop"), Some(2));
        assert_eq!(max_irql("RtlInitUnicodeString"), None);
        for name in UNANNOTATED {
            assert!(table().contains_key(name), "{name} is not in the table any more");
        }
    }
}
