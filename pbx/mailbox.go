package pbx

import "sync"

// mailbox is an unbounded FIFO drained by its own goroutine into out, so the
// dispatcher never waits for a slow reader: one call's slowness stays its own. When the
// reader is already waiting and nothing is queued, put hands the item over itself: one
// goroutine wake-up fewer on every event's way to its call.
type mailbox[T any] struct {
	mu      sync.Mutex
	items   []T
	holding bool // run has taken an item from items and not handed it over yet
	closing bool // no more puts; out closes once drained
	wake    chan struct{}
	stop    chan struct{} // closed by abandon: deliver nothing more
	once    sync.Once
	out     chan T
}

func newMailbox[T any]() *mailbox[T] {
	m := &mailbox[T]{wake: make(chan struct{}, 1), stop: make(chan struct{}), out: make(chan T)}
	go m.run()
	return m
}

// put queues v; false if the mailbox no longer accepts items.
func (m *mailbox[T]) put(v T) bool {
	m.mu.Lock()
	if m.closing {
		m.mu.Unlock()
		return false
	}
	if len(m.items) == 0 && !m.holding {
		// Nothing is ahead of v. out is open: run closes it only after closing is set.
		select {
		case m.out <- v:
			m.mu.Unlock()
			return true
		default:
		}
	}
	m.items = append(m.items, v)
	m.mu.Unlock()
	select {
	case m.wake <- struct{}{}:
	default:
	}
	return true
}

// finish lets the reader drain what is queued, then closes out.
func (m *mailbox[T]) finish() {
	m.mu.Lock()
	m.closing = true
	m.mu.Unlock()
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// abandon drops whatever is queued and closes out as soon as possible.
func (m *mailbox[T]) abandon() {
	m.mu.Lock()
	m.closing = true
	m.items = nil
	m.mu.Unlock()
	m.once.Do(func() { close(m.stop) })
}

func (m *mailbox[T]) run() {
	defer close(m.out)
	for {
		m.mu.Lock()
		if len(m.items) > 0 {
			v := m.items[0]
			var zero T
			m.items[0] = zero
			m.items = m.items[1:]
			m.holding = true
			m.mu.Unlock()
			select {
			case m.out <- v:
			case <-m.stop:
				return
			}
			m.mu.Lock()
			m.holding = false
			m.mu.Unlock()
			continue
		}
		closing := m.closing
		m.mu.Unlock()
		if closing {
			return
		}
		select {
		case <-m.wake:
		case <-m.stop:
			return
		}
	}
}
