//! Compile-time guarantees of the surface (trybuild): what wdk-sys refuses to
//! compile, the simulator refuses too.

#[test]
fn surface_misuse_does_not_compile() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/compile-fail/*.rs");
}
