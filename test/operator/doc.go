// Package operator tests what an operator looks at, against real
// processes: the Grafana dashboards in deploy/grafana/dashboards (valid
// JSON, data sources the Ansible grafana role provisions, PromQL that
// Prometheus's own parser accepts, and only metrics a running edge and
// central export) and central's operator page in headless Chromium.
//
// It is a module of its own because Prometheus's module pulls in cloud
// SDKs and chromedp a browser protocol; neither belongs in the graph of
// the binaries. It holds tests only.
package operator
