from demo_res_metrics_echo import MetricsEchoModule


class FakeEcho:
    def __init__(self):
        self.listeners = []

    def add_listener(self, listener):
        self.listeners.append(listener)
        return lambda: self.listeners.remove(listener)

    def say(self, line):
        for listener in list(self.listeners):
            listener(line)


class FakeMetrics:
    def __init__(self):
        self.counts = {}

    def count(self, name, amount=1):
        self.counts[name] = self.counts.get(name, 0) + amount


def test_declares_what_it_enhances_and_requires():
    assert tuple(MetricsEchoModule.enhances) == ("app_echo",)
    assert tuple(MetricsEchoModule.requires) == ("res_metrics",)


def test_counts_the_words_of_each_echo(make_ctx):
    echo, metrics = FakeEcho(), FakeMetrics()
    ctx = make_ctx("res_metrics_echo", running={"app_echo": echo, "res_metrics": metrics})
    MetricsEchoModule().load(ctx)
    echo.say("one two three")
    echo.say("four")
    assert metrics.counts == {"app_echo.words": 4}
    assert ctx.use_counts == {"app_echo": 0, "res_metrics": 0}


def test_the_listener_goes_away_with_the_module(make_ctx):
    echo = FakeEcho()
    ctx = make_ctx("res_metrics_echo", running={"app_echo": echo, "res_metrics": FakeMetrics()})
    module = MetricsEchoModule()
    module.load(ctx)
    assert [what for what, _ in ctx.registrations] == ["listener on app_echo"]
    module.unload(ctx)
    ctx.remove_registrations()
    assert echo.listeners == []
