package watchdog

// Escalation decides when a verdict also power-cycles the concentrator:
// only for the concentrator rules (Concentrator), and only for the second
// such verdict within one unstable period. A run that lasted the stable
// time (Stable), a run that ended without a verdict and a region change
// (both Reset) end the unstable period. The zero value is ready to use.
type Escalation struct {
	count int // concentrator verdicts in this unstable period
}

// Verdict counts a verdict of rule and tells whether to power-cycle the
// concentrator as well as restart the forwarder. A power cycle starts the
// count again: the next one needs two more verdicts.
func (e *Escalation) Verdict(rule string) (powerCycle bool) {
	if !Concentrator(rule) {
		return false
	}
	e.count++
	if e.count < 2 {
		return false
	}
	e.count = 0
	return true
}

// Stable records that the forwarder ran for the stable time.
func (e *Escalation) Stable() { e.count = 0 }

// Reset records a run that ended without a verdict, or a region change.
func (e *Escalation) Reset() { e.count = 0 }

// Count is how many concentrator verdicts the current unstable period
// holds.
func (e *Escalation) Count() int { return e.count }
