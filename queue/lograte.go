package queue

// logBurst is how many log lines that messages trigger (a rejected, failed, retried or
// dead-lettered message, a late result) a consumer writes per second at most: a flood of bad
// messages must not become a flood of log lines. The lines left out are counted and reported on the
// next line written.
const logBurst = 10
