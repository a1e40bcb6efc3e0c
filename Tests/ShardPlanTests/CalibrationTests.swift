import Foundation
import Testing
import _ShardPlanTestSupport

@testable import ShardPlan

@Suite("Calibration files")
struct CalibrationTests {
  static let file = """
    schemaVersion: 1
    source: a test
    hbmEfficiency: 0.5
    gemmEfficiency:
      bf16: 0.3
    allReduceBusBandwidth:
      nvswitch: 300 GB/s
    engineOverheads:
      - engine: vllm
        gpu: h100-sxm
        bytes: 3 GiB
    """

  static func plan(_ calibration: Calibration, gpus: Int = 1) throws -> Plan {
    let spec = try ModelLoader(environment: [:]).load("meta-llama/Llama-3.1-8B")
    let graph = try TopologyLoader().load(["8x-h100-sxm"])
    let request = InferenceRequest(
      model: spec,
      weights: .converted(.float(.bf16)),
      context: 8192,
      concurrency: 1,
      kvCache: .bf16,
      engine: .vllm
    )
    let planner = try Planner(
      graph: graph,
      strategy: gpus > 1 ? .tensor : .auto,
      objective: gpus > 1 ? .latency : .fewestGPUs,
      calibration: calibration
    )
    return planner.plan(request)
  }

  @Test func readsWhatItWrites() throws {
    let calibration = try Calibration.read(Self.file, source: "test.yaml")
    #expect(calibration.hbmEfficiency == 0.5)
    #expect(calibration.gemmEfficiency(fp8: false) == 0.3)
    #expect(calibration.gemmEfficiency(fp8: true) == CostModel.computeEfficiency)
    #expect(calibration.allReduceBusBandwidth[.nvswitch] == 300_000_000_000)
    #expect(calibration.engineOverheads == [.init(engine: .vllm, gpu: "h100-sxm", bytes: 3 << 30)])
    #expect(try Calibration.read(calibration.yamlText(), source: "again") == calibration)
  }

  /// One GPU, one sequence: decode is reading the GPU's bytes at the HBM efficiency
  /// plus 3 µs per layer, and prefill is the FLOPs at the GEMM efficiency plus the
  /// same. Calibrated at 0.5 and 0.3 in place of 0.8 and 0.6, the reads take 0.8/0.5
  /// times and the GEMMs 0.6/0.3 times as long, the latencies staying as they were.
  @Test func plansDifferExactlyByTheCalibratedFactors() throws {
    let calibration = try Calibration.read(Self.file, source: "test.yaml")
    let plain = try Self.plan(.builtIn)
    let calibrated = try Self.plan(calibration)
    let a = try #require(plain.workloads.first)
    let b = try #require(calibrated.workloads.first)
    #expect(a.stages == b.stages && a.tensorParallel == 1)
    let latency = 32 * CostModel.layerLatencySeconds  // Llama 3.1 8B's 32 layers
    let readA = 1 / a.prediction.decodeTokensPerSecond - latency
    let readB = 1 / b.prediction.decodeTokensPerSecond - latency
    #expect(abs(readB / readA - 0.8 / 0.5) < 1e-9)
    #expect(abs(b.prediction.timeToFirstTokenSeconds / a.prediction.timeToFirstTokenSeconds - 2) < 1e-3)
    // The measured overhead takes the place of what vLLM's budget holds of its
    // overheads on one GPU (nothing: its CUDA context and graphs lie outside it).
    let profile = EngineProfile.profile(.vllm)
    let overheadA = try #require(plain.devices.first { $0.index == a.stages[0].devices[0] }).overheadBytes
    let overheadB = try #require(calibrated.devices.first { $0.index == b.stages[0].devices[0] }).overheadBytes
    #expect(overheadA == profile.overheadBytes(groupSize: 1) && overheadA == 0)
    #expect(overheadB - overheadA == 3 << 30)
    #expect(calibrated.assumptions.contains { $0.contains("calibrated from a test") })
    #expect(!plain.assumptions.contains { $0.contains("calibrated") })
  }

  /// Tensor parallelism over NVSwitch: the all-reduces run at the measured 300 GB/s
  /// instead of the link's 450 GB/s, so the plan's communication takes longer.
  @Test func collectivesRunAtTheMeasuredBusBandwidth() throws {
    let bus = Calibration(
      source: "bus",
      hbmEfficiency: CostModel.memoryEfficiency,
      gemmEfficiency: [:],
      allReduceBusBandwidth: [.nvswitch: 300_000_000_000],
      engineOverheads: []
    )
    let plain = try #require(try Self.plan(.builtIn, gpus: 8).workloads.first)
    let calibrated = try #require(try Self.plan(bus, gpus: 8).workloads.first)
    #expect(plain.tensorParallel == calibrated.tensorParallel && plain.tensorParallel > 1)
    #expect(calibrated.prediction.decodeTokensPerSecond < plain.prediction.decodeTokensPerSecond)
  }

  @Test(arguments: [
    ("hbmEfficiency: 1.5", "hbmEfficiency"),
    ("hbmEfficiency: 0", "hbmEfficiency"),
    ("gemmEfficiency:\n  bf16: -0.2", "bf16"),
    ("gemmEfficiency:\n  int3: 0.5", "int3"),
    ("allReduceBusBandwidth:\n  nvlink: 5000 GB/s", "nvlink"),
    ("allReduceBusBandwidth:\n  warp: 5 GB/s", "warp"),
    ("engineOverheads:\n  - engine: tgi\n    gpu: h100-sxm\n    bytes: 1 GiB", "engine"),
    ("engineOverheads:\n  - engine: vllm\n    gpu: h1000\n    bytes: 1 GiB", "gpu"),
    ("hbmEfficency: 0.7", "hbmEfficency"),
    ("schemaVersion: 2", "schemaVersion"),
  ])
  func outOfRangeValuesNameTheirField(_ text: String, _ field: String) {
    #expect {
      try Calibration.read(text, source: "bad.yaml")
    } throws: { error in
      (error as? InputError)?.field == field && (error as? InputError)?.source == "bad.yaml"
    }
  }

  /// A bus bandwidth above what the machine's links of that kind carry is refused
  /// when the planner is made for that machine.
  @Test func aBusFasterThanTheLinksIsRefused() throws {
    let graph = try TopologyLoader().load(["8x-h100-sxm"])
    let fast = Calibration(
      source: "fast.yaml",
      hbmEfficiency: 0.8,
      gemmEfficiency: [:],
      allReduceBusBandwidth: [.nvswitch: 1_000_000_000_000],
      engineOverheads: []
    )
    #expect {
      try Planner(graph: graph, calibration: fast)
    } throws: { error in
      (error as? InputError)?.field == "allReduceBusBandwidth.nvswitch"
    }
  }
}
