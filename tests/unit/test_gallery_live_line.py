"""The live dashboards' caps, FIFO line and tickets, without a lab (the real lab: tests/integration/test_dashboard_live.py)."""

import asyncio
import time

import pytest
from backstage.gallery import live as live_module
from backstage.gallery.live import Dashboards, LiveKernels
from backstage.gallery.proxy import KernelGrants
from backstage.gallery.rendered import TicketError, Tickets, compose, embed_state, script_json, slot_model_ids


class Pool:
    current = None


def line(per_dashboard=1, total=2, idle=120):
    return LiveKernels(Dashboards(live_per_dashboard=per_dashboard, live_total=total, live_idle_timeout=idle),
                       Pool(), KernelGrants())


def test_places_within_the_caps_then_a_fifo_line_per_dashboard_and_lab():
    live = line(per_dashboard=1, total=2)
    first, _ = live.ask("a", None, "p1")
    live.hold(first, "k1")
    _, second = live.ask("a", None, "p2")
    _, third = live.ask("a", None, "p3")
    assert (live.position(second), live.position(third)) == (1, 2)
    other, _ = live.ask("b", None, "p4")  # another dashboard is not held up by a's line
    live.hold(other, "k2")
    _, fourth = live.ask("b", None, "p5")  # the lab is full: b's next waits too
    assert fourth is not None
    assert live.release("k1")  # a's place frees: the first in a's line is let in, not the third
    assert live.ask("a", third.queue_id, "p3")[1] is third
    place, none = live.ask("a", second.queue_id, "p2")
    assert place and none is None


def test_a_page_holds_one_entry_in_line_and_one_place():
    live = line(per_dashboard=1, total=2)
    place, _ = live.ask("a", None, "p1")
    live.hold(place, "k1")
    assert live.held_by("p1") == ["k1"] and live.held_by("p2") == []
    _, waiting = live.ask("a", None, "p2")
    _, again = live.ask("a", None, "p2")  # no queue_id, same page: the same entry, not a second one
    assert again is waiting and len(live.line) == 1


def test_an_entry_not_polled_for_15_s_is_dropped_and_the_next_moves_up(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(time, "monotonic", lambda: now[0])
    live = line(per_dashboard=1, total=4)
    place, _ = live.ask("a", None, "p1")
    live.hold(place, "k1")
    _, second = live.ask("a", None, "p2")
    _, third = live.ask("a", None, "p3")
    for _ in range(9):  # the third polls every 2 s; the second stopped
        now[0] += 2
        live.ask("a", third.queue_id, "p3")
    assert second not in live.line and live.position(third) == 1
    live.release("k1")
    assert live.ask("a", third.queue_id, "p3")[0] is not None


def test_an_idle_kernel_is_returned_and_its_sockets_closed_with_4000(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(time, "monotonic", lambda: now[0])
    shut = []

    async def shutdown(pool, kernel_id):
        shut.append(kernel_id)

    monkeypatch.setattr(live_module, "shutdown_kernel", shutdown)
    live = line(per_dashboard=2, total=2, idle=120)
    for holder, kernel in (("p1", "k1"), ("p2", "k2")):
        place, _ = live.ask("a", None, holder)
        live.hold(place, kernel)
        live.grants.grant(kernel, holder)

    class Socket:
        closed = None

        def close(self, code, reason):
            self.closed = (code, reason)

    socket = Socket()
    live.opened("k1", socket)
    now[0] += 100
    live.touch("k2")
    now[0] += 30
    assert asyncio.run(live.return_idle()) == ["k1"]
    assert shut == ["k1"] and socket.closed == (4000, "idle") and not live.grants.allowed("k1")
    assert live.grants.allowed("k2") and live.live_count("a") == 1


def test_tickets_are_signed_expire_and_name_their_dashboard(tmp_path):
    tickets = Tickets.from_folder(tmp_path)
    assert (tmp_path / "ticket.key").stat().st_mode & 0o777 == 0o600
    ticket = tickets.mint("squares", 3, "official", "ann")
    checked = tickets.check(ticket)
    assert (checked["slug"], checked["version"], checked["kind"], checked["user"]) == ("squares", 3, "official", "ann")
    assert Tickets.from_folder(tmp_path).check(ticket)["slug"] == "squares"  # the key survives a restart
    for bad in (Tickets(b"x" * 32).mint("squares", 3, "official", "ann"), ticket + "x", "a.b.c", "",
                Tickets((tmp_path / "ticket.key").read_bytes(), ttl=-1).mint("squares", 3, "official", "ann")):
        with pytest.raises(TicketError, match="reload the dashboard's page"):
            tickets.check(bad)


def test_the_stored_page_has_no_kernel_its_state_embedded_safely_and_a_ticket_placeholder():
    html = ('<html><head></head><body><script id="jupyter-config-data" type="application/json">'
            '{"baseUrl": "/services/gallery/dashboards/", "kernelId": "0b7c7a4e-1f25-4f5e-9c43-2b1c1d2e3f40"}</script>'
            '<script>(function () { window.backstageEarlyKernel = {}; })();</script>'
            '<div class="backstage-widget-slot"><script type="application/vnd.jupyter.widget-view+json">'
            '{"model_id": "m1", "version_major": 2}</script></div></body></html>')
    state = embed_state({"states": {"m1": {"model_name": "LabelModel", "model_module": "@jupyter-widgets/controls",
                                           "model_module_version": "2.0.0", "state": {"value": "</script><b>"}}},
                         "buffer_paths": [["m1", "state", "data"]]}, [b"\x00\x01"])
    page = compose(html, state, slug="squares", version=2, live_url="/services/gallery/dashboards/api/live")
    assert '"kernelId":null' in page and "backstageEarlyKernel" not in page and "@@backstage-live-ticket@@" in page
    assert page.count("</script>") == html.count("</script>")  # the state's '</script>' did not close anything
    assert state["state"]["m1"]["buffers"] == [{"path": ["data"], "encoding": "base64", "data": "AAE="}]
    assert slot_model_ids(page) == ["m1"]
    assert script_json("\u2028<!--") == '"\\u2028\\u003c!--"'
