import Foundation

/// Measured factors that replace the cost model's assumptions (`--calibration
/// FILE`): the fraction of peak HBM bandwidth decode reaches, the fraction of dense
/// peak prefill GEMMs reach per dtype, the all-reduce bus bandwidth NCCL reaches
/// over each kind of link, and engines' fixed per-GPU overheads on a GPU model.
/// ``builtIn`` holds the assumptions themselves; a plan made with a file names it
/// in its assumptions. `reconcile --write-calibration` derives one from logs.
///
/// The file is YAML (schema 1):
///
/// ```yaml
/// schemaVersion: 1
/// source: reconcile of vllm.log          # what it was measured from
/// hbmEfficiency: 0.78                    # (0, 1]
/// gemmEfficiency: {bf16: 0.55, fp8: 0.40}  # (0, 1]
/// allReduceBusBandwidth: {nvswitch: 360 GB/s, phb: 21 GB/s}
/// engineOverheads:
///   - {engine: vllm, gpu: h100-sxm, bytes: 1.6 GiB}
/// ```
public struct Calibration: Hashable, Sendable {
  /// An engine's fixed bytes on each GPU of one model: CUDA context, allocator,
  /// library workspaces and CUDA graphs, as a log measured them.
  package struct EngineOverhead: Hashable, Sendable {
    /// The engine.
    package var engine: Engine
    /// A GPU catalog id (`h100-sxm`).
    package var gpu: String
    /// Bytes per GPU.
    package var bytes: Int64

    /// An overhead measured for `engine` on `gpu`.
    package init(engine: Engine, gpu: String, bytes: Int64) {
      self.engine = engine
      self.gpu = gpu
      self.bytes = bytes
    }
  }

  /// Where the figures come from; nil for the built-in assumptions.
  package var source: String?
  /// Fraction of peak HBM bandwidth that weight and cache reads reach.
  package var hbmEfficiency: Double
  /// Fraction of dense peak that prefill GEMMs reach, by dtype (`bf16`, `fp8`);
  /// a dtype not given keeps the built-in figure.
  package var gemmEfficiency: [String: Double]
  /// NCCL all-reduce bus bandwidth, bytes/s, by the kind of the group's slowest link.
  package var allReduceBusBandwidth: [LinkKind: Int64]
  /// Engines' fixed per-GPU bytes in place of their profile's runtime figure.
  package var engineOverheads: [EngineOverhead]

  /// The cost model's own assumptions (``CostModel``): 80% of HBM bandwidth, 60%
  /// of dense peak, collectives at each link's full bandwidth, each engine
  /// profile's runtime bytes.
  public static let builtIn = Calibration(
    source: nil,
    hbmEfficiency: CostModel.memoryEfficiency,
    gemmEfficiency: [:],
    allReduceBusBandwidth: [:],
    engineOverheads: []
  )

  /// A calibration of the given figures.
  package init(
    source: String?,
    hbmEfficiency: Double,
    gemmEfficiency: [String: Double],
    allReduceBusBandwidth: [LinkKind: Int64],
    engineOverheads: [EngineOverhead]
  ) {
    self.source = source
    self.hbmEfficiency = hbmEfficiency
    self.gemmEfficiency = gemmEfficiency
    self.allReduceBusBandwidth = allReduceBusBandwidth
    self.engineOverheads = engineOverheads
  }

  /// Whether this is the built-in set (no file).
  package var isBuiltIn: Bool { source == nil }

  /// Fraction of dense peak prefill GEMMs reach in fp8 or in bf16.
  package func gemmEfficiency(fp8: Bool) -> Double {
    gemmEfficiency[fp8 ? "fp8" : "bf16"] ?? CostModel.computeEfficiency
  }

  /// The fixed per-GPU bytes of `engine` on every GPU of `models`, when measured
  /// for that one GPU model.
  package func overhead(engine: Engine, gpuModels: Set<String>) -> Int64? {
    guard gpuModels.count == 1, let model = gpuModels.first else { return nil }
    return engineOverheads.first { $0.engine == engine && $0.gpu == model }?.bytes
  }

  /// dtypes a file may calibrate GEMMs for.
  static let gemmTypes = ["bf16", "fp8"]
  static let keys = [
    "schemaVersion", "source", "hbmEfficiency", "gemmEfficiency", "allReduceBusBandwidth", "engineOverheads",
  ]
  /// Above any link's bus bandwidth (NVLink 5 is 1.8 TB/s per GPU in both directions).
  static let maximumBusBandwidth: Int64 = 2_000_000_000_000

  /// Reads a calibration file.
  ///
  /// - Throws: ``InputError`` naming the field for an unknown key, an efficiency
  ///   outside (0, 1], a bandwidth at or below 0 or above 2 TB/s, an unknown link
  ///   kind, engine or GPU, or an overhead outside 0 to 1 TiB.
  public static func read(_ text: String, source: String) throws -> Calibration {
    let root = try YAMLMapping.document(text, source: source, context: "a calibration file")
    try root.checkKeys(keys)
    if let version = try root.int("schemaVersion", range: 0...1000), version != 1 {
      throw root.error("schemaVersion", "schema \(version)", expected: "schema 1")
    }
    let efficiency = 0.000_001...1.0
    var calibration = Calibration.builtIn
    calibration.source = try root.string("source") ?? source
    calibration.hbmEfficiency = try root.double("hbmEfficiency", range: efficiency) ?? CostModel.memoryEfficiency
    if let gemm = try root.mapping("gemmEfficiency", context: "gemmEfficiency") {
      try gemm.checkKeys(gemmTypes)
      for type in gemmTypes {
        if let value = try gemm.double(type, range: efficiency) { calibration.gemmEfficiency[type] = value }
      }
    }
    if let buses = try root.mapping("allReduceBusBandwidth", context: "allReduceBusBandwidth") {
      try buses.checkKeys(LinkKind.allCases.map(\.rawValue))
      for kind in LinkKind.allCases {
        guard let rate = try buses.rate(kind.rawValue) else { continue }
        guard rate > 0, rate <= maximumBusBandwidth else {
          throw buses.error(
            kind.rawValue,
            "\(Units.formatRate(rate)) is not a bus bandwidth a link reaches",
            expected: "above 0 and at most 2000 GB/s"
          )
        }
        calibration.allReduceBusBandwidth[kind] = rate
      }
    }
    for entry in try root.mappings("engineOverheads", context: "an engine overhead") {
      try entry.checkKeys(["engine", "gpu", "bytes"])
      let name = try entry.requiredString("engine")
      guard let engine = Engine.allCases.first(where: { $0.rawValue == name }) else {
        throw entry.error(
          "engine",
          "unknown engine '\(name)'",
          expected: Engine.allCases.map(\.rawValue).joined(separator: ", ")
        )
      }
      let gpu = try entry.requiredString("gpu")
      guard GPUCatalog.spec(named: gpu) != nil else {
        throw entry.error("gpu", "'\(gpu)' is not a GPU of the catalog", fix: "Use an id of `shardplan gpus`")
      }
      guard let bytes = try entry.bytes("bytes") else {
        throw entry.error("bytes", "no bytes given", expected: "a size such as 1.6 GiB")
      }
      guard bytes >= 0, bytes <= 1 << 40 else {
        throw entry.error("bytes", "\(bytes) bytes of overhead", expected: "0 to 1 TiB")
      }
      calibration.engineOverheads.append(EngineOverhead(engine: engine, gpu: gpu, bytes: bytes))
    }
    return calibration
  }

  /// The file form, which ``read(_:source:)`` reads back to this value.
  package func yamlText() -> String {
    var lines = [
      "# shardplan calibration: measured factors in place of the cost model's assumptions.",
      "schemaVersion: 1",
      "source: \(Self.quoted(source ?? "built-in assumptions"))",
      "hbmEfficiency: \(Self.decimal(hbmEfficiency))",
    ]
    if !gemmEfficiency.isEmpty {
      lines.append("gemmEfficiency:")
      lines += gemmEfficiency.keys.sorted().map { "  \($0): \(Self.decimal(gemmEfficiency[$0] ?? 0))" }
    }
    if !allReduceBusBandwidth.isEmpty {
      lines.append("allReduceBusBandwidth:")
      lines += LinkKind.allCases.compactMap { kind in
        allReduceBusBandwidth[kind].map { "  \(kind.rawValue): \($0) B/s" }
      }
    }
    if !engineOverheads.isEmpty {
      lines.append("engineOverheads:")
      for entry in engineOverheads {
        lines.append("  - engine: \(entry.engine.rawValue)")
        lines.append("    gpu: \(entry.gpu)")
        lines.append("    bytes: \(entry.bytes) B")
      }
    }
    return lines.joined(separator: "\n") + "\n"
  }

  static func decimal(_ value: Double) -> String { String(format: "%.4f", value) }

  static func quoted(_ text: String) -> String {
    "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
  }
}
