package relay

import (
	"fmt"
	"time"
)

// State is what the relay knows of one upstream.
type State string

// The upstream states (docs/gwmp.md, "Upstream states").
const (
	StateWaiting    State = "waiting"    // resolved, sockets open, no answer yet
	StateOK         State = "ok"         // answered within LostAfter
	StateLost       State = "lost"       // no PUSH_ACK or PULL_ACK for LostAfter
	StateUnresolved State = "unresolved" // the name does not resolve
)

// evidence is what an upstream's manager knows at one moment. Every time
// is a monotonic offset from the relay's start; 0 means never.
type evidence struct {
	state      State
	opened     time.Duration // the current sockets were opened
	answered   time.Duration // the last PUSH_ACK or PULL_ACK
	unanswered time.Duration // the first datagram sent since the last answer
	resolved   time.Duration // the last resolution (success or failure)
}

// policy holds the durations the rules use.
type policy struct {
	lostAfter time.Duration // silence after which an upstream is lost
	silence   time.Duration // an unanswered datagram older than this asks for a re-resolution
	reresolve time.Duration // periodic re-resolution
}

// verdict is what the manager must do now.
type verdict struct {
	lost    bool   // enter (or stay in) lost: reopen the sockets
	resolve bool   // resolve the name again
	why     string // for the log and OnState
}

// judge applies the upstream rules: a pure function of the evidence and the
// current time, so the table test can walk it without sleeping.
//
//   - No answer for lostAfter since the later of the last answer and the
//     sockets' opening: lost, re-resolve and reopen. While it stays lost
//     this repeats every lostAfter (the sockets were just reopened).
//   - A datagram unanswered for longer than silence, with no resolution
//     since it went out: re-resolve now (the address may have moved).
//   - Otherwise re-resolve every reresolve.
func judge(ev evidence, now time.Duration, p policy) verdict {
	if ev.state == StateUnresolved {
		if now-ev.resolved >= min(p.reresolve, p.lostAfter) {
			return verdict{resolve: true, why: "retrying the name"}
		}
		return verdict{}
	}
	since := max(ev.answered, ev.opened)
	if quiet := now - since; quiet >= p.lostAfter {
		if ev.answered == 0 {
			return verdict{lost: true, resolve: true, why: fmt.Sprintf("no answer in %v since its sockets opened", quiet.Round(time.Millisecond))}
		}
		return verdict{lost: true, resolve: true, why: fmt.Sprintf("no PUSH_ACK or PULL_ACK for %v", quiet.Round(time.Millisecond))}
	}
	if ev.unanswered != 0 && now-ev.unanswered >= p.silence && ev.resolved < ev.unanswered+p.silence {
		return verdict{resolve: true, why: fmt.Sprintf("a datagram unanswered for %v", (now - ev.unanswered).Round(time.Millisecond))}
	}
	if now-ev.resolved >= p.reresolve {
		return verdict{resolve: true, why: "periodic"}
	}
	return verdict{}
}
