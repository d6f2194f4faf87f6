package fleet

import (
	"fmt"
	"net"
	"strconv"
)

// freePortAttempts bounds the search for ports that are free for both TCP
// and UDP (a port free for one may be taken for the other).
const freePortAttempts = 100

// freePorts returns n distinct loopback ports that were free a moment ago,
// for TCP and UDP (Consul's Serf gossips over both). The sockets are held
// until all are chosen, so the same port is not handed out twice; another
// process may still take one before the child binds it, which is why each
// start retries with fresh ports when its child says so.
func freePorts(n int) ([]int, error) {
	var closers []func() error
	defer func() {
		for _, c := range closers {
			_ = c()
		}
	}()
	ports := make([]int, 0, n)
	for attempts := 0; len(ports) < n; attempts++ {
		if attempts > freePortAttempts*n {
			return nil, fmt.Errorf("no %d free loopback ports", n)
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("find a free port: %w", err)
		}
		closers = append(closers, ln.Close)
		port := ln.Addr().(*net.TCPAddr).Port
		pc, err := net.ListenPacket("udp", loopback(port))
		if err != nil {
			continue
		}
		closers = append(closers, pc.Close)
		ports = append(ports, port)
	}
	return ports, nil
}

// resolvePorts fills every zero of want with a free port. The result has the
// same length; auto[i] tells which were chosen here.
func resolvePorts(want ...int) (ports []int, auto []bool, err error) {
	missing := 0
	for _, p := range want {
		if p == 0 {
			missing++
		}
	}
	free, err := freePorts(missing)
	if err != nil {
		return nil, nil, err
	}
	ports = make([]int, len(want))
	auto = make([]bool, len(want))
	for i, p := range want {
		if p == 0 {
			ports[i], free = free[0], free[1:]
			auto[i] = true
		} else {
			ports[i] = p
		}
	}
	return ports, auto, nil
}

// anyAuto reports whether any port was chosen here.
func anyAuto(auto []bool) bool {
	for _, a := range auto {
		if a {
			return true
		}
	}
	return false
}

// checkFree fails when a fixed port is already taken on loopback, naming
// it: a clearer message than a child's bind error in its log.
func checkFree(what string, port int) error {
	ln, err := net.Listen("tcp", loopback(port))
	if err != nil {
		return fmt.Errorf("%s: port %d is taken (%w); stop what uses it or choose another port", what, port, err)
	}
	return ln.Close()
}

func loopback(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }
