/// The roofline cost model: time per step from bytes moved and FLOPs done.
///
/// Factors, each with its source:
/// - memory efficiency 0.8 of peak HBM bandwidth: aiconfigurator's
///   `mem_bw_empirical_scaling_factor` (shared/reference/gpus/*.yaml);
/// - a constant 3 µs per kernel-bound memory phase: aiconfigurator's
///   `mem_empirical_constant_latency`, charged once per layer;
/// - 10 µs per collective or pipeline hand-off: aiconfigurator's `p2p_latency`;
/// - compute efficiency 0.6 of dense peak for prefill GEMMs: an assumption
///   (large prefill GEMMs typically reach 50–70% of peak), stated in every report;
/// - CPU RAM read at 0.7 of its nominal bandwidth for offloaded layers: an
///   assumption (STREAM-style sustained bandwidth of DDR4/DDR5 servers).
public enum CostModel {
  public static let memoryEfficiency = 0.8
  public static let layerLatencySeconds = 3e-6
  public static let collectiveLatencySeconds = 10e-6
  public static let computeEfficiency = 0.6
  public static let ramEfficiency = 0.7

  /// Seconds to read `bytes` at `bandwidth` bytes/s with the memory efficiency.
  public static func readSeconds(bytes: Int64, bandwidth: Int64) -> Double {
    guard bandwidth > 0 else { return .infinity }
    return Double(bytes) / (Double(bandwidth) * memoryEfficiency)
  }

  /// A ring all-reduce of `bytes` over `size` ranks joined at `linkBandwidth`
  /// bytes/s per direction: 2(n−1)/n × bytes on the slowest link, plus latency.
  public static func allReduceSeconds(bytes: Int64, size: Int, linkBandwidth: Int64) -> Double {
    guard size > 1 else { return 0 }
    guard linkBandwidth > 0 else { return .infinity }
    let traffic = 2 * Double(size - 1) / Double(size) * Double(bytes)
    return traffic / Double(linkBandwidth) + collectiveLatencySeconds
  }

  /// A point-to-point transfer (pipeline hand-off).
  public static func transferSeconds(bytes: Int64, linkBandwidth: Int64) -> Double {
    guard linkBandwidth > 0 else { return .infinity }
    return Double(bytes) / Double(linkBandwidth) + collectiveLatencySeconds
  }

  /// Seconds for `flops` on `tflops` dense peak with the compute efficiency.
  public static func computeSeconds(flops: Double, tflops: Double) -> Double {
    guard tflops > 0 else { return .infinity }
    return flops / (tflops * 1e12 * computeEfficiency)
  }
}
