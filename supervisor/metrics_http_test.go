//go:build !nometrics

package supervisor_test

// metricsBuilt tells the tests whether this build serves /metrics.
const metricsBuilt = true
