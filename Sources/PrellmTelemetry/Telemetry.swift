import PrellmHTTP

/// Telemetry is a process's tracing as the environment configures it: the tracer runs feed,
/// and the exporter to flush when the process ends.
public struct Telemetry: Sendable {
    public let tracer: Tracer
    public let exporter: OTLPExporter

    /// The tracing the standard variables ask for; nil when they ask for none. A variable prellm
    /// cannot honour (gRPC, another exporter) is said through `log` and tracing stays off:
    /// traces never stop a run or a gateway from starting.
    public static func fromEnvironment(
        _ environment: [String: String], version: String, client: HTTPClient = .shared, log: @escaping @Sendable (String) -> Void
    ) -> Telemetry? {
        switch TelemetryConfiguration.from(environment: environment, serviceVersion: version) {
        case .failure(let problem):
            log(problem.message + "; traces are off")
            return nil
        case .success(nil):
            return nil
        case .success(let configuration?):
            let exporter = OTLPExporter(configuration: configuration, version: version, client: client, log: log)
            return Telemetry(tracer: Tracer(exporter: exporter, captureContent: configuration.captureContent), exporter: exporter)
        }
    }
}
