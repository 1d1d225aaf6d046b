package health

// statuses are the values of the status label of metrics.Health.Status.
var statuses = []Status{StatusOK, StatusDegraded, StatusFailing}

// observe reports a snapshot's checks and status.
func (r *Reporter) observe(s Snapshot) {
	for _, c := range s.Checks {
		up := 0.0
		if c.Status == StatusOK {
			up = 1
		}
		r.mx.CheckUp.With("service", r.service, "check", c.Name).Set(up)
	}
	for _, st := range statuses {
		v := 0.0
		if s.Status == st {
			v = 1
		}
		r.mx.Status.With("service", r.service, "status", string(st)).Set(v)
	}
}
