"""The lock an AsyncHost's registry runs under: re-entrant, and lent to the loop's thread."""

from __future__ import annotations

import threading
import time

import pytest

from modloader._aio.bridge import LendableLock


def test_it_is_re_entrant_and_exclusive() -> None:
    lock = LendableLock()
    with lock, lock:
        other = threading.Thread(target=lambda: got.append(lock.acquire(timeout=0.05)))
        got: list[bool] = []
        other.start()
        other.join()
        assert got == [False]
        assert lock.acquire(blocking=False)  # its own: re-entrant
        lock.release()
    assert lock.acquire(blocking=False)
    lock.release()
    with pytest.raises(RuntimeError, match="does not hold"):
        lock.release()


def test_a_thread_already_waiting_gets_in_when_the_lock_is_lent_to_it() -> None:
    lock = LendableLock()
    entered = threading.Event()
    leave = threading.Event()

    def borrower() -> None:
        with lock:  # waits: the owner holds it
            entered.set()
            leave.wait(10)

    lock.acquire()
    thread = threading.Thread(target=borrower)
    thread.start()
    time.sleep(0.05)
    assert not entered.is_set()
    lock.lend(thread.ident or 0)
    assert entered.wait(10)
    taken_back = threading.Event()

    def take_back() -> None:
        lock.take_back()
        taken_back.set()

    threading.Thread(target=take_back).start()
    time.sleep(0.05)
    assert not taken_back.is_set()  # the borrower is still inside its block
    leave.set()
    assert taken_back.wait(10)
    thread.join(10)
    lock.release()


def test_after_the_loan_the_borrower_waits_again() -> None:
    lock = LendableLock()
    lock.acquire()
    got: list[bool] = []
    thread = threading.Thread(target=lambda: got.append(lock.acquire(timeout=0.05)))
    lock.lend(-1)  # lent to no thread that asks
    lock.take_back()
    thread.start()
    thread.join()
    assert got == [False]
    lock.release()
