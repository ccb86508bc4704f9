"""The gateway's per-step locks live only while a step is being changed: a gateway that serves for
weeks keeps none for the steps it once saw."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from app.gateway.dimse_state import GatewayState


def test_a_step_lock_is_dropped_once_nobody_holds_or_waits_for_it(tmp_path):
    state = GatewayState(str(tmp_path / "gateway.db"))

    def change(n: int) -> None:
        with state.holding(f"1.2.3.{n % 10}"):  # ten steps, eight threads: holders and waiters
            pass

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(change, range(2000)))
    assert state.keys_held() == []
    with state.holding("1.2.3.4"):
        assert state.keys_held() == ["1.2.3.4"]
    assert state.keys_held() == []
