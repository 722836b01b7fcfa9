package concentrator

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Lines are the concentrator's control lines, requested once and held for
// the supervisor's lifetime: a released line's level is not guaranteed and
// power-enable must stay high while the forwarder runs. Any may be nil.
type Lines struct {
	Reset   Line // active high
	PowerEn Line // CoreCell power enable, active high
	SX1261  Line // CoreCell SX1261 radio reset, active low
	SX125x  Line // hm-pktfwd's extra reset line (SX125x_RESET_PIN_OVERRIDE), active high, pulsed after Reset
	Step    time.Duration
}

// DefaultStep is the wait between reset steps, as Semtech's reset_lgw.sh.
const DefaultStep = 100 * time.Millisecond

// None tells whether no reset line is configured (USB modules, boards
// without one): resets are then skipped.
func (l *Lines) None() bool {
	return l == nil || l.Reset == nil && l.PowerEn == nil && l.SX1261 == nil && l.SX125x == nil
}

type step struct {
	line  Line
	name  string
	value int
}

// Start resets the chip so it is ready for the forwarder:
//   - SX1301: reset high, then low (a ~100 ms pulse).
//   - CoreCell (SX1302/SX1303): power-enable high, reset high then low,
//     SX1261 reset low then high.
//
// In both, an SX125x line is pulsed high then low right after the reset
// pulse, as hm-pktfwd's reset_lgw.sh did. Each step is followed by Step.
// ctx ends the sequence early.
func (l *Lines) Start(ctx context.Context, coreCell bool) error {
	pulse := []step{{l.Reset, "reset", 1}, {l.Reset, "reset", 0}, {l.SX125x, "SX125x reset", 1}, {l.SX125x, "SX125x reset", 0}}
	if !coreCell {
		return l.run(ctx, pulse)
	}
	steps := append([]step{{l.PowerEn, "power-enable", 1}}, pulse...)
	return l.run(ctx, append(steps, step{l.SX1261, "SX1261 reset", 0}, step{l.SX1261, "SX1261 reset", 1}))
}

// Stop holds the chip (and the SX125x line) in reset.
func (l *Lines) Stop() error {
	return l.run(context.Background(), []step{{l.Reset, "reset", 1}, {l.SX125x, "SX125x reset", 1}})
}

func (l *Lines) run(ctx context.Context, steps []step) error {
	d := l.Step
	if d == 0 {
		d = DefaultStep
	}
	for _, s := range steps {
		if s.line == nil {
			continue
		}
		if err := s.line.SetValue(s.value); err != nil {
			return gpioErr{fmt.Errorf("set the %s line to %d: %w", s.name, s.value, err)}
		}
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
	return nil
}

// Close releases every line.
func (l *Lines) Close() error {
	if l == nil {
		return nil
	}
	var errs []error
	for _, ln := range []Line{l.Reset, l.PowerEn, l.SX1261, l.SX125x} {
		if ln != nil {
			errs = append(errs, ln.Close())
		}
	}
	return errors.Join(errs...)
}

// Edge is one value a SimLine was driven to.
type Edge struct {
	Line  string
	Value int
	At    time.Time
}

// SimRecorder collects the edges of its SimLines, in order. With Keep > 0
// it keeps only the latest Keep edges (for long runs).
type SimRecorder struct {
	Keep  int
	mu    sync.Mutex
	edges []Edge
}

// Line returns a simulated line that records into r.
func (r *SimRecorder) Line(name string) *SimLine { return &SimLine{name: name, rec: r} }

// Edges returns what was recorded so far.
func (r *SimRecorder) Edges() []Edge {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Edge(nil), r.edges...)
}

// SimLine is a simulated output line.
type SimLine struct {
	name   string
	rec    *SimRecorder
	closed bool
}

// SetValue records the edge.
func (s *SimLine) SetValue(v int) error {
	s.rec.mu.Lock()
	defer s.rec.mu.Unlock()
	if s.closed {
		return fmt.Errorf("line %s: already closed", s.name)
	}
	s.rec.edges = append(s.rec.edges, Edge{s.name, v, time.Now()})
	if k := s.rec.Keep; k > 0 && len(s.rec.edges) > 2*k {
		s.rec.edges = append([]Edge(nil), s.rec.edges[len(s.rec.edges)-k:]...)
	}
	return nil
}

// Close marks the line released.
func (s *SimLine) Close() error {
	s.rec.mu.Lock()
	defer s.rec.mu.Unlock()
	s.closed = true
	return nil
}
