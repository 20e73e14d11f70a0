package media

import "sync"

// callbackQueue runs done callbacks, in order, on one goroutine of its own.
// Queueing them (instead of calling them from stop(), Close or the tick)
// means a caller may hold its own locks while it calls into the engine and
// still take them in the callback.
type callbackQueue struct {
	mu      sync.Mutex
	q       []func()
	wake    chan struct{}
	closed  bool
	running bool // a batch is being run
	done    chan struct{}
}

func newCallbackQueue() *callbackQueue {
	c := &callbackQueue{wake: make(chan struct{}, 1), done: make(chan struct{})}
	go c.run()
	return c
}

func (c *callbackQueue) post(fn func()) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		// The worker is gone or going; a late callback still runs once.
		go fn()
		return
	}
	c.q = append(c.q, fn)
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

func (c *callbackQueue) run() {
	defer close(c.done)
	var batch []func()
	for {
		c.mu.Lock()
		batch, c.q = c.q, batch[:0]
		closed := c.closed
		c.running = len(batch) > 0
		c.mu.Unlock()
		if len(batch) == 0 {
			if closed {
				return
			}
			<-c.wake
			continue
		}
		for i, fn := range batch {
			fn()
			batch[i] = nil
		}
	}
}

// close lets the worker drain what is queued and exit, and waits for it.
func (c *callbackQueue) close() {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
	<-c.done
}

// idle reports whether no callback is queued or running (for tests).
func (c *callbackQueue) idle() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.q) == 0 && !c.running
}
