package memstore

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"hotline/acd"
)

// TestLine checks the waiting line against a plain slice under random inserts and removes,
// biased as in use: arrivals near the tail, departures near the head.
func TestLine(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var l line
	var ref []acd.ItemID
	for step := range 20000 {
		n := len(ref)
		if n == 0 || rng.IntN(100) < 52 {
			i := n - rng.IntN(min(n, 8)+1)
			if rng.IntN(10) == 0 {
				i = rng.IntN(n + 1)
			}
			id := acd.ItemID(fmt.Sprint(step))
			l.insert(i, acd.Candidate{Item: &acd.Item{ID: id}})
			ref = slices.Insert(ref, i, id)
		} else {
			i := rng.IntN(min(n, 8))
			if rng.IntN(10) == 0 {
				i = rng.IntN(n)
			}
			l.remove(i)
			ref = slices.Delete(ref, i, i+1)
		}
		items := l.items()
		if len(items) != len(ref) {
			t.Fatalf("step %d: %d items, want %d", step, len(items), len(ref))
		}
		for i := range items {
			if items[i].Item.ID != ref[i] {
				t.Fatalf("step %d: item %d is %s, want %s", step, i, items[i].Item.ID, ref[i])
			}
		}
	}
	// Drain from the head: the free head is reclaimed on the way.
	compacted := false
	for len(ref) > 0 {
		before := l.start
		l.remove(0)
		ref = ref[1:]
		compacted = compacted || l.start < before
		if items := l.items(); len(items) != len(ref) || len(ref) > 0 && items[0].Item.ID != ref[0] {
			t.Fatalf("draining: %d items, want %d", len(items), len(ref))
		}
	}
	if !compacted || l.start > 64 {
		t.Fatalf("the free head was not reclaimed: start %d", l.start)
	}
}
