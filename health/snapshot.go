package health

import (
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// Snapshot is the JSON document a Reporter writes to hydra:service:<svc>:<iid>:health. The fields up
// to UptimeSeconds are Node Hydra's, in Node's order and with Node's names and types, so hydra-cli,
// hydra-router and Node's getServiceHealthAll read it unchanged; the rest are hydrakit's additions,
// which Node ignores.
type Snapshot struct {
	UpdatedOn    string `json:"updatedOn"` // ISO-8601 UTC with milliseconds, when written
	ServiceName  string `json:"serviceName"`
	InstanceID   string `json:"instanceID"`
	HostName     string `json:"hostName"`
	SampledOn    string `json:"sampledOn"` // when the figures below were taken
	ProcessID    int    `json:"processID"`
	Architecture string `json:"architecture"` // Node's process.arch names: x64, ia32, arm64, ...
	Platform     string `json:"platform"`     // Node's process.platform names: linux, darwin, win32, ...
	NodeVersion  string `json:"nodeVersion"`  // the Go version (runtime.Version), where Node puts its own
	// Memory holds Node's process.memoryUsage() figures, in bytes, mapped onto the Go runtime.
	Memory struct {
		// RSS is the resident set size from /proc/self/statm; elsewhere memory obtained from the OS
		// minus memory returned to it (Sys - HeapReleased).
		RSS uint64 `json:"rss"`
		// HeapTotal is heap memory held from the OS (HeapSys - HeapReleased), like V8's heap size.
		HeapTotal uint64 `json:"heapTotal"`
		// HeapUsed is bytes of allocated heap objects (HeapAlloc).
		HeapUsed uint64 `json:"heapUsed"`
		// External is runtime memory outside the heap: stacks, GC metadata, spans (Sys - HeapSys).
		External uint64 `json:"external"`
	} `json:"memory"`
	UptimeSeconds float64 `json:"uptimeSeconds"` // since the process started (package initialisation)

	GoVersion  string `json:"goVersion"`
	Goroutines int    `json:"goroutines"`
	// GC summarises the garbage collector since the process started.
	GC struct {
		Count        uint32  `json:"count"`
		PauseTotalMs float64 `json:"pauseTotalMs"`
		LastPauseMs  float64 `json:"lastPauseMs"`
	} `json:"gc"`
	Status Status        `json:"status"`           // roll-up of the checks; "ok" without checks
	Checks []CheckResult `json:"checks,omitempty"` // one per registered check, by name
}

// hydraTimeFormat is JavaScript's Date.prototype.toISOString, which Node Hydra writes everywhere.
const hydraTimeFormat = "2006-01-02T15:04:05.000Z"

func formatTime(t time.Time) string { return t.UTC().Format(hydraTimeFormat) }

var processStart = time.Now()

// sampleProcess fills the process and runtime figures of a snapshot; names and status are the caller's.
func sampleProcess(now time.Time, hostName string) Snapshot {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	rss := residentBytes()
	if rss == 0 {
		rss = ms.Sys - ms.HeapReleased
	}
	s := Snapshot{
		HostName:      hostName,
		SampledOn:     formatTime(now),
		ProcessID:     os.Getpid(),
		Architecture:  nodeArch(runtime.GOARCH),
		Platform:      nodePlatform(runtime.GOOS),
		NodeVersion:   runtime.Version(),
		UptimeSeconds: time.Since(processStart).Seconds(), // real time, whatever clock stamps it
		GoVersion:     runtime.Version(),
		Goroutines:    runtime.NumGoroutine(),
	}
	s.Memory.RSS = rss
	s.Memory.HeapTotal = ms.HeapSys - ms.HeapReleased
	s.Memory.HeapUsed = ms.HeapAlloc
	s.Memory.External = ms.Sys - ms.HeapSys
	s.GC.Count = ms.NumGC
	s.GC.PauseTotalMs = float64(ms.PauseTotalNs) / 1e6
	if ms.NumGC > 0 {
		s.GC.LastPauseMs = float64(ms.PauseNs[(ms.NumGC+255)%256]) / 1e6
	}
	return s
}

// residentBytes reads the resident set size on Linux; 0 elsewhere or on error.
func residentBytes() uint64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	fields := strings.Fields(string(b))
	if len(fields) < 2 {
		return 0
	}
	pages, err := strconv.ParseUint(fields[1], 10, 64)
	if err != nil {
		return 0
	}
	return pages * uint64(os.Getpagesize())
}

// nodeArch maps GOARCH to Node's process.arch, so dashboards that know Node's names show ours.
func nodeArch(goarch string) string {
	switch goarch {
	case "amd64":
		return "x64"
	case "386":
		return "ia32"
	case "ppc64le", "ppc64":
		return "ppc64"
	case "mips64le":
		return "mips64el"
	case "mipsle":
		return "mipsel"
	}
	return goarch // arm, arm64, s390x, riscv64, loong64 are the same in both
}

// nodePlatform maps GOOS to Node's process.platform.
func nodePlatform(goos string) string {
	switch goos {
	case "windows":
		return "win32"
	case "solaris", "illumos":
		return "sunos"
	}
	return goos // linux, darwin, freebsd, openbsd, aix, android are the same in both
}
