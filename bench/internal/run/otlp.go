package run

import (
	"fmt"
	"log/slog"

	"github.com/rustguard/rustguard/bench/internal/target"
	"github.com/rustguard/rustguard/shared/otlprecv"
)

// otlpEndpoint decides where edge-traced exports: the endpoint the caller
// gave (central, a collector, Jaeger), or else an OTLP receiver this tool
// runs itself, which counts what arrives. It returns a note for the report
// and a function that stops the receiver, if one was started.
func otlpEndpoint(o *target.Options, log *slog.Logger) (string, func(), error) {
	if o.OTLPEndpoint != "" {
		if o.OTLPProtocol == "" {
			o.OTLPProtocol = "grpc"
		}
		return fmt.Sprintf("edge-traced exported its spans to %s (OTLP %s).", o.OTLPEndpoint, o.OTLPProtocol), func() {}, nil
	}
	r, err := otlprecv.Listen(otlprecv.Options{CountOnly: true})
	if err != nil {
		return "", nil, fmt.Errorf("otlp receiver: %w", err)
	}
	o.OTLPEndpoint, o.OTLPProtocol = "http://"+r.GRPCAddr(), "grpc"
	log.Info("edge-traced exports to rgload's own OTLP receiver", "endpoint", o.OTLPEndpoint)
	return "edge-traced exported its spans over OTLP/gRPC to a receiver in rgload's own process (shared/otlprecv: decodes " +
		"every request with the collector's pdata types and counts the spans); -otlp-endpoint points it at central instead.", r.Close, nil
}
