package proxy

import (
	"net"
	"net/http"
	"testing"
	"time"
)

// BenchmarkProxy compares HTTP requests to a fixture through the proxy's
// cluster IP with requests straight to the fixture: with a new connection
// per request (each one a proxy pick and dial) and over one kept-alive
// connection (the relay alone). The difference of ns/op is the latency the
// proxy adds; req/s is the sequential rate of one client.
//
//	go test ./cluster/proxy -run '^$' -bench Proxy -benchtime 2000x
func BenchmarkProxy(b *testing.B) {
	c := startAPI(b, loopbackRange)
	ips := randomIPs(1)
	startFixture(b, ips[0], 8080)
	p := startProxy(b, Config{Client: c})
	svc := createService(b, c, webService("bench", 8080))
	createSlice(b, c, newSlice(svc, 8080, readyEndpoint(ips[0])))
	waitEndpoints(b, p, svc, 1)

	targets := map[string]string{"direct": net.JoinHostPort(ips[0], "8080"), "proxy": clusterAddr(svc)}
	for _, conn := range []string{"new-conn", "keepalive"} {
		for _, via := range []string{"direct", "proxy"} {
			b.Run(via+"/"+conn, func(b *testing.B) {
				hc := client
				if conn == "keepalive" {
					hc = &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 1, Proxy: nil}}
					defer hc.CloseIdleConnections()
				}
				addr := targets[via]
				b.ResetTimer()
				start := time.Now()
				for range b.N {
					if _, err := getWith(hc, addr); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
			})
		}
	}
}
