package supervisor

// PIDFromFile lets the external tests wait for a pid a script writes, with
// the same helper as the internal ones.
var PIDFromFile = pidFile
