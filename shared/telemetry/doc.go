// Package telemetry holds the tracing conventions the edge and the central
// service share: service and span names, attribute keys, and the one mapping
// between a detection event (shared/detection) and the attributes of its
// mc.detection span. The edge encodes with DetectionAttributes; central
// decodes what arrives over OTLP with DecodeDetection. Keeping both halves
// here, with a round-trip test, means a renamed attribute cannot silently
// break the fleet's aggregation.
//
// Attribute names follow OpenTelemetry's semantic conventions where one
// exists (client.address, cloud.region, service.instance.id) and use the
// mc.* and detection.* namespaces otherwise. No attribute of a metric ever
// carries a player name, UUID or address; spans may, because traces are
// read by operators, not scraped into time series (docs/TELEMETRY.md).
package telemetry
