"""The run thread never loses a finished download (RELIABILITY 11: a run "done" has recorded every file)."""
from __future__ import annotations

from concurrent.futures import Future

from portal.sync.fetch import Fetched, Fetcher, Target
from portal.sync.mapper import FILE, RemoteItem


class FinishesWhileChecked(Future):
    """A download that completes between two looks at it, as a pool thread can make it do."""

    def __init__(self, fetched: Fetched):
        super().__init__()
        self.fetched, self.looks = fetched, 0

    def done(self) -> bool:
        self.looks += 1
        if self.looks == 2:
            self.set_result(self.fetched)
        return super().done()


def test_a_download_finishing_during_done_is_recorded_now_or_later():
    item = RemoteItem(FILE, 7, None, "a.pdf", version_id=1, size=3)
    fetched = Fetched(item, sha256="0" * 64, size=3)
    with Fetcher(None, 1, Target(1, 2, {}), mapper=None, workers=1) as fetcher:
        racing = FinishesWhileChecked(fetched)
        fetcher.pending = [racing]
        first = fetcher.done()
        racing.done()  # it has finished by now in any case
        second = fetcher.done()
    assert first + second == [fetched]
    assert fetcher.pending == []
