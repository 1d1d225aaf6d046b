package redis

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	goredis "github.com/redis/go-redis/v9"

	"github.com/hydrakit/hydrakit"
	"github.com/hydrakit/hydrakit/internal/redistest"
)

// childEnv, set to "<redis addr> <service>", makes the test binary a registered instance that runs
// until it is killed.
const childEnv = "HYDRAKIT_SD_CHILD"

func runChild() {
	addr, svc, _ := strings.Cut(os.Getenv(childEnv), " ")
	client, err := hydrakit.NewClient(goredis.NewClient(&goredis.Options{Addr: addr}))
	if err != nil {
		fmt.Println("error", err)
		os.Exit(2)
	}
	r, err := NewRegistrar(client, Service{Name: svc, IP: "127.0.0.1", Port: 9}, nil)
	if err != nil {
		fmt.Println("error", err)
		os.Exit(2)
	}
	r.Register()
	fmt.Println("registered", r.ID())
	select {}
}

// A crashed instance (SIGKILL: no Deregister) leaves every Instancer once its presence expires. How
// soon (within the TTL and a resync) is BenchmarkSIGKILLToEvent's business (bench/sd).
func TestSIGKILLRemoved(t *testing.T) {
	srv := redistest.Start(t)
	c := srv.Client(t)
	svc := redistest.Name("killed")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+srv.Addr+" "+svc)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if !strings.HasPrefix(line, "registered ") {
		t.Fatalf("child: %q %v", line, err)
	}
	in, err := NewInstancer(redistest.Fleet(t, c), svc, nil)
	if err != nil {
		t.Fatal(err)
	}
	ch := watchEvents(t, in)
	waitInstances(t, ch, "127.0.0.1:9")
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitInstances(t, ch)
}
