package supervisor

import "time"

// backoff doubles from first up to max; reset starts over.
type backoff struct {
	first, max, cur time.Duration
}

func newBackoff(first, max time.Duration) *backoff {
	if first <= 0 {
		first = 100 * time.Millisecond
	}
	return &backoff{first: first, max: max}
}

// next returns the delay to wait now.
func (b *backoff) next() time.Duration {
	switch {
	case b.cur == 0:
		b.cur = b.first
	case b.cur < b.max:
		b.cur *= 2
	}
	b.cur = min(b.cur, b.max)
	return b.cur
}

func (b *backoff) reset() { b.cur = 0 }

// step is the current step, or the first one after a reset.
func (b *backoff) step() time.Duration {
	if b.cur == 0 {
		return b.first
	}
	return b.cur
}
