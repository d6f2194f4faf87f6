package fleet

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
)

// StateFile, in the fleet's directory, says where a running fleet listens
// and holds its admin token (mode 0600): `make demo` and the tests read it.
// The launcher writes it once the fleet is ready and removes it when it
// stops.
const StateFile = "fleet.json"

// State is the content of StateFile.
type State struct {
	PID         int         `json:"pid"` // the launcher's
	AdminToken  string      `json:"admin_token"`
	Centrals    []string    `json:"centrals"` // API base URLs; the edges export to the first
	JaegerQuery string      `json:"jaeger_query"`
	Consul      string      `json:"consul"`
	Redis       string      `json:"redis"`
	Backend     string      `json:"backend"`
	MCVersion   string      `json:"mc_version"`
	Edges       []StateEdge `json:"edges"`
	Logs        string      `json:"logs"`
}

// StateEdge is one edge in State.
type StateEdge struct {
	Region   string `json:"region"`
	Instance string `json:"instance"`
	Addr     string `json:"addr"`
	Admin    string `json:"admin"`
}

// State describes the running fleet.
func (f *Fleet) State() State {
	s := State{
		PID: os.Getpid(), AdminToken: f.AdminToken, JaegerQuery: f.Jaeger.QueryURL, Consul: f.ConsulAddr,
		Redis: f.RedisURL, Backend: f.Backend, MCVersion: f.opts.MCVersion, Logs: filepath.Join(f.opts.Dir, "logs"),
	}
	for _, c := range f.Centrals {
		s.Centrals = append(s.Centrals, c.API)
	}
	for _, e := range f.Edges {
		s.Edges = append(s.Edges, StateEdge{Region: e.Region, Instance: e.Instance, Addr: e.Addr, Admin: e.Admin})
	}
	return s
}

// WriteState writes s to dir/StateFile, whole or not at all.
func WriteState(dir string, s State) error {
	raw, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, StateFile+".*")
	if err != nil {
		return fmt.Errorf("state file: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(raw, '\n')); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("state file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("state file: %w", err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, StateFile)); err != nil {
		return fmt.Errorf("state file: %w", err)
	}
	return nil
}

// ErrNoFleet means no fleet's state file is in the directory.
var ErrNoFleet = errors.New("no fleet is running here")

// ReadState reads dir/StateFile.
func ReadState(dir string) (State, error) {
	var s State
	raw, err := os.ReadFile(filepath.Join(dir, StateFile))
	if errors.Is(err, fs.ErrNotExist) {
		return s, fmt.Errorf("%w (no %s in %s)", ErrNoFleet, StateFile, dir)
	}
	if err != nil {
		return s, err
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		return s, fmt.Errorf("%s: %w", filepath.Join(dir, StateFile), err)
	}
	return s, nil
}

// RemoveState removes dir/StateFile.
func RemoveState(dir string) error {
	err := os.Remove(filepath.Join(dir, StateFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

// maxAPIBody caps an API answer read by Client: the largest, a page of
// 1,000 detections, is well under this.
const maxAPIBody = 16 << 20

// Client calls central's API with a bearer token ("" sends none).
type Client struct {
	Base  string
	Token string
}

// Do sends a request with body JSON-encoded (nil: none) and returns the
// status and the body.
func (c Client) Do(ctx context.Context, method, path string, body any) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.Base+path, rd)
	if err != nil {
		return 0, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(io.LimitReader(resp.Body, maxAPIBody))
	if err != nil {
		return resp.StatusCode, nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	return resp.StatusCode, out, nil
}

// Get GETs path and decodes a 200 answer into out; any other status is an
// error carrying the answer.
func (c Client) Get(ctx context.Context, path string, out any) error {
	code, body, err := c.Do(ctx, http.MethodGet, path, nil)
	if err != nil {
		return err
	}
	if code != http.StatusOK {
		return fmt.Errorf("GET %s: %d: %.300s", path, code, body)
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	return nil
}

// API is a client for central replica i with the admin token.
func (f *Fleet) API(i int) Client { return Client{Base: f.Centrals[i].API, Token: f.AdminToken} }
