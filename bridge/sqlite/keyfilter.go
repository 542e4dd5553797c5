package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"hash/maphash"
	"sync/atomic"
)

// Size of the key filter.
const (
	// keyFilterBits is the filter's size: 2^23 bits, 1 MiB.
	keyFilterBits = 1 << 23
	// keyFilterProbes is how many bits a key sets.
	keyFilterProbes = 4
)

// keyFilter remembers, with false positives only, which issue keys the
// ledger may hold, so a notification of a key it cannot hold (a new group)
// goes straight to the writer instead of first paying for a read that finds
// nothing, and the writer inserts its entry without reading it either. The
// filter never decides alone: that insert does nothing when the key is in
// the ledger after all (another process added it), and the writer then
// reads the key and decides it as any other; a key the filter wrongly
// reports as maybe held costs the reads, as before.
//
// It is a Bloom filter of fixed size: with 100,000 keys in the ledger about
// one new key in 200,000 is read first, with 1,000,000 about one in 50;
// beyond that it tends to reading every key first. Keys are never taken
// out (the ledger keeps its keys).
type keyFilter struct {
	seed  maphash.Seed
	words []atomic.Uint64
}

func newKeyFilter() *keyFilter {
	return &keyFilter{seed: maphash.MakeSeed(), words: make([]atomic.Uint64, keyFilterBits/64)}
}

// probes calls fn with the word index and bit mask of each of key's bits.
func (f *keyFilter) probes(key string, fn func(word int, mask uint64) bool) {
	h := maphash.String(f.seed, key)
	h1, h2 := uint32(h), uint32(h>>32)|1
	for i := range uint32(keyFilterProbes) {
		bit := (h1 + i*h2) % keyFilterBits
		if !fn(int(bit/64), 1<<(bit%64)) {
			return
		}
	}
}

// add remembers key. It is safe to call concurrently with mayHold.
func (f *keyFilter) add(key string) {
	f.probes(key, func(w int, mask uint64) bool {
		if f.words[w].Load()&mask == 0 {
			f.words[w].Or(mask)
		}
		return true
	})
}

// mayHold reports whether key may be in the ledger: false means this
// Store's writer never wrote it and it was not there at Open.
func (f *keyFilter) mayHold(key string) bool {
	held := true
	f.probes(key, func(w int, mask uint64) bool {
		held = f.words[w].Load()&mask != 0
		return held
	})
	return held
}

// load adds every key of the ledger in db.
func (f *keyFilter) load(ctx context.Context, db *sql.DB) error {
	rows, err := db.QueryContext(ctx, `SELECT key FROM ledger`)
	if err != nil {
		return fmt.Errorf("read ledger keys: %w", err)
	}
	defer rows.Close()
	var key string
	for rows.Next() {
		if err := rows.Scan(&key); err != nil {
			return fmt.Errorf("read ledger keys: %w", err)
		}
		f.add(key)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read ledger keys: %w", err)
	}
	return nil
}
