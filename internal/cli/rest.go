package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	sdredis "github.com/hydrakit/hydrakit/sd/redis"
	"github.com/hydrakit/hydrakit/umf"
)

// restResult is what rest prints, as hydra-cli does (without its crash on JSON answers).
type restResult struct {
	StatusCode        int                 `json:"statusCode"`
	StatusMessage     string              `json:"statusMessage"`
	StatusDescription string              `json:"statusDescription,omitempty"`
	Headers           map[string][]string `json:"headers"`
	Result            json.RawMessage     `json:"result"` // the body's result for a Hydra answer, else the body (a JSON string when it is no JSON)
}

// maxRestBody bounds the answer rest reads.
const maxRestBody = 16 << 20

func (a *app) restCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "rest <[instance@]service:[method]/path> [payload.json|-]",
		Short: "Call a service's HTTP API directly on one live instance (found through presence)",
		Args:  args(cobra.RangeArgs(1, 2)),
		RunE: func(cmd *cobra.Command, argv []string) error {
			to, err := umf.ParseAddress(argv[0])
			if err != nil {
				return usagef("%v", err)
			}
			if to.Method == "" {
				return usagef("HTTP method not specified in %q: write service:[get]/path", argv[0])
			}
			var payload []byte
			if len(argv) == 2 {
				if to.Method == "get" || to.Method == "delete" {
					return usagef("a payload cannot be sent with %s", to.Method)
				}
				if payload, err = a.readInput(argv[1]); err != nil {
					return err
				}
			}
			ctx, cancel := a.ctx(cmd.Context())
			defer cancel()
			c, err := a.fleet(ctx)
			if err != nil {
				return err
			}
			instances, err := sdredis.ListInstances(ctx, c, to.Service)
			if err != nil {
				return err
			}
			in, err := pick(instances, to.Service, to.Instance)
			if err != nil {
				return err
			}
			res, err := restCall(ctx, in, strings.ToUpper(to.Method), to.Route, payload)
			if err != nil {
				return notFoundf("%s at %s: %v", to.Service, in.Addr(), err)
			}
			if err := writeJSON(a.out, res); err != nil {
				return err
			}
			if res.StatusCode/100 != 2 {
				return fmt.Errorf("%s answered %d %s", to.Service, res.StatusCode, res.StatusMessage)
			}
			return nil
		},
	}
}

// pick chooses the named instance, or one at random as Node does; only instances with an address.
func pick(instances []sdredis.Instance, service, id string) (sdredis.Instance, error) {
	var ok []sdredis.Instance
	for _, in := range instances {
		if in.Addr() != "" && (id == "" || in.ID == id) {
			ok = append(ok, in)
		}
	}
	if len(ok) == 0 {
		if id != "" {
			return sdredis.Instance{}, notFoundf("no live instance %s of %s with an HTTP address", id, service)
		}
		return sdredis.Instance{}, notFoundf("no live instance of %s with an HTTP address", service)
	}
	return ok[rand.IntN(len(ok))], nil
}

func restCall(ctx context.Context, in sdredis.Instance, method, path string, payload []byte) (restResult, error) {
	u := "http://" + net.JoinHostPort(in.IP, strconv.Itoa(in.Port)) + path
	req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(payload))
	if err != nil {
		return restResult{}, err
	}
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return restResult{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxRestBody))
	if err != nil {
		return restResult{}, err
	}
	res := restResult{StatusCode: resp.StatusCode, StatusMessage: http.StatusText(resp.StatusCode), Headers: resp.Header}
	var hydra struct {
		StatusMessage     string          `json:"statusMessage"`
		StatusDescription string          `json:"statusDescription"`
		Result            json.RawMessage `json:"result"`
	}
	switch {
	case json.Unmarshal(body, &hydra) == nil && hydra.Result != nil:
		res.Result, res.StatusDescription = hydra.Result, hydra.StatusDescription
		res.StatusMessage = or(hydra.StatusMessage, res.StatusMessage)
	case json.Valid(body):
		res.Result = body
	default:
		res.Result, _ = json.Marshal(string(body))
	}
	return res, nil
}
