"""lobby_site/batches.py: notes gathered on a loop are written in batches, none lost when a write fails."""

import asyncio

import pytest

from lobby_site import batches
from lobby_site.batches import LoopBatch


class Notes(LoopBatch):
    """A batch of numbers; `failures` writes fail before the next succeeds."""

    failures = 0

    def __init__(self):
        self.pending: list[int] = []
        self.written_batches: list[list[int]] = []
        self.gate: asyncio.Event | None = None
        super().__init__()

    def note(self, n: int) -> None:
        self.pending.append(n)
        self.noted()

    def take(self) -> list[int]:
        batch, self.pending = self.pending, []
        return batch

    def put_back(self, batch: list[int]) -> None:
        self.pending = batch + self.pending

    def empty(self) -> bool:
        return not self.pending

    async def write(self, batch: list[int]) -> None:
        if self.gate is not None:
            await self.gate.wait()
        if Notes.failures:
            Notes.failures -= 1
            raise OSError("the database is away")
        self.written_batches.append(batch)


class OtherNotes(Notes):
    """Another kind of batch: it has its own instance per loop."""


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch):
    monkeypatch.setattr(batches, "RETRY_DELAY", 0.01)
    Notes.failures = 0


async def test_notes_made_together_are_written_as_one_batch_and_written_waits_for_them():
    notes = Notes.of_this_loop()
    for n in range(5):
        notes.note(n)
    await asyncio.wait_for(Notes.written(), timeout=5)
    assert notes.written_batches == [[0, 1, 2, 3, 4]]


async def test_notes_made_while_a_batch_is_written_go_in_the_next_batch():
    notes = Notes.of_this_loop()
    notes.gate = asyncio.Event()
    notes.note(1)
    await asyncio.sleep(0.01)  # the first batch is being written
    notes.note(2)
    notes.note(3)
    assert not notes.idle.is_set()
    notes.gate.set()
    await asyncio.wait_for(Notes.written(), timeout=5)
    assert notes.written_batches == [[1], [2, 3]]


async def test_a_batch_whose_write_fails_is_kept_and_written_later_before_newer_notes(caplog):
    Notes.failures = 2
    notes = Notes.of_this_loop()
    notes.note(1)
    await asyncio.sleep(0)
    notes.note(2)
    await asyncio.wait_for(Notes.written(), timeout=5)
    assert [n for batch in notes.written_batches for n in batch] == [1, 2]
    assert "writing Notes failed; retrying" in caplog.text


async def test_each_kind_has_one_instance_per_loop_and_a_read_does_not_start_one():
    assert Notes.existing() is None
    notes = Notes.of_this_loop()
    assert Notes.of_this_loop() is notes and Notes.existing() is notes
    assert OtherNotes.existing() is None and OtherNotes.of_this_loop() is not notes
