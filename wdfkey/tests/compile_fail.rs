//! What `RegKey` makes impossible to write in safe code (trybuild).

#[test]
fn ownership_mistakes_do_not_compile() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/compile-fail/*.rs");
}
