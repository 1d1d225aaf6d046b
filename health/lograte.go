package health

// logBurst is how many lines about its failed writes a Recorder logs per second at most: while Redis
// is down every batch of events fails, and the events come from the service's input. The lines left
// out are counted and reported on the next line written.
const logBurst = 10
