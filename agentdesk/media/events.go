package media

import "sync"

// dispatcher delivers events in order from one goroutine, so that neither
// pion's callbacks nor the relay ever wait on the handler.
type dispatcher struct {
	fn   func(Event)
	mu   sync.Mutex
	q    []Event
	wake chan struct{}
	stop chan struct{}
	done chan struct{}
}

func newDispatcher(fn func(Event)) *dispatcher {
	d := &dispatcher{fn: fn, wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	if fn == nil {
		close(d.done)
		return d
	}
	go d.run()
	return d
}

func (d *dispatcher) push(e Event) {
	if d.fn == nil {
		return
	}
	d.mu.Lock()
	d.q = append(d.q, e)
	d.mu.Unlock()
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

func (d *dispatcher) run() {
	defer close(d.done)
	for {
		d.mu.Lock()
		q := d.q
		d.q = nil
		d.mu.Unlock()
		for _, e := range q {
			d.fn(e)
		}
		if len(q) > 0 {
			continue
		}
		select {
		case <-d.wake:
		case <-d.stop:
			d.mu.Lock()
			q = d.q
			d.q = nil
			d.mu.Unlock()
			for _, e := range q {
				d.fn(e)
			}
			return
		}
	}
}

// close delivers what is queued and stops.
func (d *dispatcher) close() {
	if d.fn != nil {
		close(d.stop)
	}
	<-d.done
}
