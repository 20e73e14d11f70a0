package memstore_test

import (
	"testing"

	"hotline/acd"
	"hotline/acd/acdtest"
	"hotline/acd/memstore"
)

func TestContract(t *testing.T) {
	acdtest.RunStoreContract(t, func(t *testing.T, r *acd.Router, clock acd.Clock) func() acd.Store {
		s := memstore.New(r, clock)
		// One process: every "client" is the same store.
		return func() acd.Store { return s }
	})
}

// BenchmarkReserveBest measures reservations through the memory store: routing with 1,000
// agents over 30 skills plus the commit.
func BenchmarkReserveBest(b *testing.B) {
	r, err := acd.NewRouter(acdtest.BenchConfig())
	if err != nil {
		b.Fatal(err)
	}
	clock := acdtest.NewClock(acdtest.Epoch)
	s := memstore.New(r, clock)
	acdtest.BenchmarkReserve(b, func() acd.Store { return s }, clock, 1000, 1, 1)
}
