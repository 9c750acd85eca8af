import demo_func_plain


def test_has_no_hooks_only_a_description():
    assert not any(hasattr(demo_func_plain, hook) for hook in ("load", "unload", "reload"))
    assert demo_func_plain.description == "Text functions for other modules (no hooks)"


def test_shout():
    assert demo_func_plain.shout("hello") == "HELLO!"
