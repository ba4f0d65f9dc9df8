"""Domain events (webapp/domain_events.py): publish to subscribers, once each, unless muted."""

from __future__ import annotations

from dataclasses import dataclass

from webapp import domain_events


@dataclass(frozen=True)
class Rang:
    times: int


def test_it_tells_each_subscriber_once_in_order(monkeypatch):
    monkeypatch.setattr(domain_events, "_subscribers", {})
    heard: list[str] = []

    def first(event: Rang) -> None:
        heard.append(f"first {event.times}")

    def second(event: Rang) -> None:
        heard.append(f"second {event.times}")

    domain_events.subscribe(Rang, first)
    domain_events.subscribe(Rang, second)
    domain_events.subscribe(Rang, first)  # again: still once
    domain_events.publish(Rang(1))
    domain_events.publish("another type of event")

    assert heard == ["first 1", "second 1"]


def test_it_publishes_nothing_while_muted(monkeypatch):
    monkeypatch.setattr(domain_events, "_subscribers", {})
    heard: list[Rang] = []
    domain_events.subscribe(Rang, heard.append)

    with domain_events.muted():
        domain_events.publish(Rang(1))
    domain_events.publish(Rang(2))

    assert heard == [Rang(2)]
