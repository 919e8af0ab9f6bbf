package main

import (
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// The shapes kind v0.33 writes (pkg/cluster/internal/loadbalancer), with our own names and values.
const bootstrapYAML = `
node:
  cluster: demo
  id: demo-external-load-balancer

dynamic_resources:
  cds_config:
    resource_api_version: V3
    path_config_source:
      path: /data/cds.yaml
  lds_config:
    resource_api_version: V3
    path_config_source:
      path: /data/lds.yaml

admin:
  access_log_path: /dev/stdout
  address:
    socket_address:
      address: 0.0.0.0
      port_value: 10000
`

func ldsYAML(addr string, port int) string {
	return fmt.Sprintf(`
resources:
- "@type": type.googleapis.com/envoy.config.listener.v3.Listener
  name: front
  address:
    socket_address:
      address: "%s"
      port_value: %d
  filter_chains:
  - filters:
    - name: envoy.filters.network.tcp_proxy
      typed_config:
        "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy
        stat_prefix: ingress_tcp
        cluster: backends
`, addr, port)
}

func cdsYAML(interval string, endpoints ...string) string {
	var eps strings.Builder
	for _, e := range endpoints {
		h, p, _ := net.SplitHostPort(e)
		fmt.Fprintf(&eps, "      - endpoint:\n          address:\n            socket_address:\n              address: %s\n              port_value: %s\n", h, p)
	}
	return fmt.Sprintf(`
resources:
- "@type": type.googleapis.com/envoy.config.cluster.v3.Cluster
  name: backends
  connect_timeout: 0.25s
  type: STRICT_DNS
  lb_policy: ROUND_ROBIN
  dns_lookup_family: V4_PREFERRED
  health_checks:
  - timeout: 1s
    interval: %s
    unhealthy_threshold: 2
    healthy_threshold: 1
    initial_jitter: 0s
    no_traffic_interval: 3s
    always_log_health_check_failures: true
    event_log_path: /dev/stdout
    http_health_check:
      path: /healthz
    transport_socket_match_criteria:
      tls_mode: "true"
  transport_socket_matches:
  - name: "hc_tls"
    match:
      tls_mode: "true"
    transport_socket:
      name: envoy.transport_sockets.tls
      typed_config:
        "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext
        common_tls_context:
          validation_context:
            trust_chain_verification: ACCEPT_UNTRUSTED
  load_assignment:
    cluster_name: backends
    endpoints:
    - lb_endpoints:
%s`, interval, eps.String())
}

func TestParseBootstrap(t *testing.T) {
	v, err := parseYAML(bootstrapYAML)
	if err != nil {
		t.Fatal(err)
	}
	b, err := parseBootstrap(v)
	if err != nil {
		t.Fatal(err)
	}
	if b.CDSPath != "/data/cds.yaml" || b.LDSPath != "/data/lds.yaml" || b.AdminAddr != "0.0.0.0:10000" {
		t.Fatalf("got %+v", b)
	}
	// The placeholder kind writes before the real config: an empty resource list.
	v, err = parseYAML("resources: []")
	if err != nil {
		t.Fatal(err)
	}
	if cs, err := parseClusters(v); err != nil || len(cs) != 0 {
		t.Fatalf("empty cds: %v %v", cs, err)
	}
	if _, err := parseBootstrap(map[string]any{}); err == nil {
		t.Fatal("a bootstrap without dynamic resources must be refused")
	}
}

func TestParseListenersAndClusters(t *testing.T) {
	v, err := parseYAML(ldsYAML("0.0.0.0", 6443))
	if err != nil {
		t.Fatal(err)
	}
	ls, err := parseListeners(v)
	if err != nil {
		t.Fatal(err)
	}
	if len(ls) != 1 || ls[0] != (listener{Name: "front", Addr: "0.0.0.0:6443", Cluster: "backends"}) {
		t.Fatalf("listeners %+v", ls)
	}
	v, err = parseYAML(cdsYAML("2s", "cp-a:6443", "cp-b:6443", "cp-c:6443"))
	if err != nil {
		t.Fatal(err)
	}
	cs, err := parseClusters(v)
	if err != nil {
		t.Fatal(err)
	}
	c := cs[0]
	if c.Name != "backends" || c.Type != "STRICT_DNS" || c.ConnectTimeout != 250*time.Millisecond || !c.IPv4First {
		t.Fatalf("cluster %+v", c)
	}
	if len(c.Endpoints) != 3 || c.Endpoints[1] != (endpoint{Host: "cp-b", Port: 6443}) {
		t.Fatalf("endpoints %+v", c.Endpoints)
	}
	hc := c.Health
	if hc == nil || !hc.TLS || hc.Path != "/healthz" || hc.Interval != 2*time.Second || hc.Timeout != time.Second || hc.UnhealthyThreshold != 2 || hc.HealthyThreshold != 1 {
		t.Fatalf("health check %+v", hc)
	}
}

func TestRefusesWhatItCannotHonour(t *testing.T) {
	for name, src := range map[string]string{
		"http filter":     strings.Replace(ldsYAML("0.0.0.0", 1), "tcp_proxy.v3.TcpProxy", "http_connection_manager.v3.HttpConnectionManager", 1),
		"cluster type":    strings.Replace(cdsYAML("2s", "a:1"), "STRICT_DNS", "EDS", 1),
		"lb policy":       strings.Replace(cdsYAML("2s", "a:1"), "ROUND_ROBIN", "LEAST_REQUEST", 1),
		"tcp healthcheck": strings.Replace(cdsYAML("2s", "a:1"), "http_health_check:\n      path: /healthz", "tcp_health_check: {}", 1),
	} {
		v, err := parseYAML(src)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		_, err1 := parseListeners(v)
		_, err2 := parseClusters(v)
		if err1 == nil && err2 == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestYAMLSubset(t *testing.T) {
	v, err := parseYAML("a:\n- x\n- 'it''s'\n- \"q\\\"d\"  # note\nb: [1, 2]\nc:\n  d: {}\n")
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(v); got != `map[a:[x it's q"d] b:[1 2] c:map[d:map[]]]` {
		t.Fatalf("got %s", got)
	}
	for _, bad := range []string{"a: &x 1", "a: |\n  text", "a:\n  b: 1\n    c: 2", "a: 1\na: 2", "\ta: 1", "a: \"open"} {
		if _, err := parseYAML(bad); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

// backend is a TLS server standing in for a kube-apiserver: /healthz answers with the status it
// is told, any other path names the backend.
type backend struct {
	name   string
	status atomic.Int32
	srv    *httptest.Server
}

func newBackend(name string) *backend {
	b := &backend{name: name}
	b.status.Store(200)
	b.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" {
			w.WriteHeader(int(b.status.Load()))
			return
		}
		fmt.Fprint(w, b.name)
	}))
	return b
}

func (b *backend) addr() string { return b.srv.Listener.Addr().String() }

func ask(t *testing.T, addr string) (string, error) {
	t.Helper()
	c := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, DisableKeepAlives: true}}
	resp, err := c.Get("https://" + addr + "/who")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// spread asks n times and counts answers per backend; a failed request counts as "error".
func spread(t *testing.T, addr string, n int) map[string]int {
	t.Helper()
	out := map[string]int{}
	for range n {
		who, err := ask(t, addr)
		if err != nil {
			who = "error"
		}
		out[who]++
	}
	return out
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func healthyCount(p *proxy) int {
	return strings.Count(p.status(), "health_flags::healthy")
}

// TestFailover runs the whole program loop on files: bootstrap, placeholder configs replaced by
// mv as kind does, round-robin over healthy hosts, failover, recovery and Envoy's panic mode.
func TestFailover(t *testing.T) {
	a, b, c := newBackend("a"), newBackend("b"), newBackend("c")
	defer a.srv.Close()
	defer b.srv.Close()
	cStopped := false
	defer func() {
		if !cStopped {
			c.srv.Close()
		}
	}()

	dir := t.TempDir()
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	boot := strings.NewReplacer("/data/", dir+"/", "0.0.0.0", "127.0.0.1", "10000", "0").Replace(bootstrapYAML)
	write := func(name, content string) {
		tmp := filepath.Join(dir, name+".tmp")
		if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	write("cds.yaml", "resources: []")
	write("lds.yaml", "resources: []")
	v, _ := parseYAML(boot)
	bs, err := parseBootstrap(v)
	if err != nil {
		t.Fatal(err)
	}
	p := newProxy(t.Logf)
	defer p.close()
	w := &watcher{cds: bs.CDSPath, lds: bs.LDSPath, p: p}
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			w.poll()
			select {
			case <-stop:
				return
			case <-time.After(30 * time.Millisecond):
			}
		}
	}()

	write("lds.yaml", ldsYAML("127.0.0.1", port))
	write("cds.yaml", cdsYAML("0.1s", a.addr(), b.addr(), c.addr()))
	front := fmt.Sprintf("127.0.0.1:%d", port)
	waitFor(t, "three healthy hosts", func() bool { return healthyCount(p) == 3 })

	got := spread(t, front, 9)
	if got["a"] != 3 || got["b"] != 3 || got["c"] != 3 {
		t.Fatalf("round robin over three healthy hosts: %v", got)
	}

	// a's /healthz fails: after two failed checks it takes no more connections.
	a.status.Store(500)
	waitFor(t, "a unhealthy", func() bool { return healthyCount(p) == 2 })
	got = spread(t, front, 8)
	if got["a"] != 0 || got["b"] != 4 || got["c"] != 4 {
		t.Fatalf("a failed its checks, want traffic on b and c only: %v", got)
	}

	// a recovers after one passing check.
	a.status.Store(200)
	waitFor(t, "a healthy again", func() bool { return healthyCount(p) == 3 })
	if got = spread(t, front, 6); got["a"] != 2 {
		t.Fatalf("a healthy again: %v", got)
	}

	// c dies (connection refused): until its checks notice, connects move on to the next host.
	c.srv.Close()
	cStopped = true
	if got = spread(t, front, 6); got["error"] != 0 || got["c"] != 0 {
		t.Fatalf("dead host must not fail connections: %v", got)
	}
	waitFor(t, "c unhealthy", func() bool { return healthyCount(p) == 2 })

	// a fails too: 1 healthy of 3 is under the panic threshold, so every host is tried again
	// (a still answers requests, its health check aside), as Envoy does.
	a.status.Store(503)
	waitFor(t, "a unhealthy", func() bool { return healthyCount(p) == 1 })
	if got = spread(t, front, 8); got["a"] == 0 || got["b"] == 0 || got["error"] != 0 {
		t.Fatalf("panic mode balances over all hosts: %v", got)
	}

	// A bad update is refused and the running config stays.
	write("cds.yaml", "resources:\n- \"@type\": type.googleapis.com/envoy.config.cluster.v3.Cluster\n  name: backends\n  type: EDS\n")
	time.Sleep(150 * time.Millisecond)
	if got = spread(t, front, 2); got["error"] != 0 {
		t.Fatalf("a refused update must leave the proxy working: %v", got)
	}

	// Removing a host from the cluster takes it out of rotation.
	a.status.Store(200)
	write("cds.yaml", cdsYAML("0.1s", b.addr()))
	waitFor(t, "one host", func() bool { return strings.Count(p.status(), "health_flags") == 1 })
	if got = spread(t, front, 3); got["b"] != 3 {
		t.Fatalf("only b is configured: %v", got)
	}
}

func TestDNSEndpointsResolve(t *testing.T) {
	b := newBackend("b")
	defer b.srv.Close()
	_, port, _ := net.SplitHostPort(b.addr())
	v, err := parseYAML(cdsYAML("0.1s", "localhost:"+port))
	if err != nil {
		t.Fatal(err)
	}
	cs, err := parseClusters(v)
	if err != nil {
		t.Fatal(err)
	}
	p := newProxy(t.Logf)
	defer p.close()
	p.setClusters(cs)
	waitFor(t, "localhost resolved and healthy", func() bool { return strings.Contains(p.status(), "127.0.0.1:"+port+"::health_flags::healthy") })
}
