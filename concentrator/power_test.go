package concentrator_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"pktfwd/concentrator"
)

func TestLines_PowerCycle(t *testing.T) {
	rec := &concentrator.SimRecorder{}
	step := 2 * time.Millisecond
	l := &concentrator.Lines{Reset: rec.Line("reset"), PowerEn: rec.Line("power"), Step: step}
	if err := l.PowerCycle(context.Background()); err != nil {
		t.Fatal(err)
	}
	e := rec.Edges()
	got := []concentrator.Edge{}
	for _, x := range e {
		got = append(got, concentrator.Edge{Line: x.Line, Value: x.Value})
	}
	want := []concentrator.Edge{{Line: "reset", Value: 1}, {Line: "power", Value: 0}, {Line: "power", Value: 1}}
	if len(got) != len(want) {
		t.Fatalf("edges %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("edges %+v, want %+v", got, want)
		}
	}
	if off := e[2].At.Sub(e[1].At); off < 10*step {
		t.Errorf("power was off for %s, want at least 10 steps (%s)", off, 10*step)
	}
}

func TestLines_PowerCycleWithoutPowerLine(t *testing.T) {
	rec := &concentrator.SimRecorder{}
	l := &concentrator.Lines{Reset: rec.Line("reset")}
	if err := l.PowerCycle(context.Background()); !errors.Is(err, concentrator.ErrNoPowerLine) {
		t.Errorf("got %v, want ErrNoPowerLine", err)
	}
	if n := len(rec.Edges()); n != 0 {
		t.Errorf("%d edges driven without a power line, want none", n)
	}
	var none *concentrator.Lines
	if err := none.PowerCycle(context.Background()); !errors.Is(err, concentrator.ErrNoPowerLine) {
		t.Errorf("nil Lines: got %v, want ErrNoPowerLine", err)
	}
}
