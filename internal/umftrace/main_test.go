package umftrace

import (
	"testing"

	"github.com/hydrakit/hydrakit/internal/redistest"
)

func TestMain(m *testing.M) { redistest.VerifyNoLeaks(m) }
