import Foundation

/// What the libFuzzer drivers in `Fuzz/` feed the readers, and what the fuzz
/// regression tests replay: every reader of untrusted input on one input. A
/// reader may refuse the input with an ``InputError``; it must never crash, hang
/// or grow without bound.
///
/// System programming interface for the fuzzers (`@_spi(Fuzzing) import
/// ShardPlan`), not part of the documented library.
@_spi(Fuzzing) public enum FuzzEntryPoints {
  /// The bytes as a GGUF file and as a safetensors file (the file at `path`
  /// holds them, for the readers that read files).
  @_spi(Fuzzing) public static func modelHeaders(_ bytes: Data, path: String) {
    if let header = try? GGUFReader.read(path: path) {
      _ = try? GGUFModel.spec(header: header, name: "fuzz", source: path)
    }
    _ = try? SafetensorsReader.readHeader(path: path)
    if bytes.count >= 8 {
      _ = try? SafetensorsReader.parseHeader(bytes.dropFirst(8), dataBytes: Int64(bytes.count), source: "fuzz")
    }
  }

  /// The bytes as a config.json (then the memory model and the planner over the
  /// model read, with the weights as stored and converted), as a safetensors
  /// index (the file at `path` holds them), as an expert-load file, and as a
  /// layout priced by the validator against the bundled models and topologies.
  @_spi(Fuzzing) public static func modelConfig(_ bytes: Data, path: String) {
    let text = String(decoding: bytes, as: UTF8.self)
    _ = try? SafetensorsReader.readIndex(path: path)
    _ = try? ExpertBalancer.readLoad(text, source: path)
    _ = LayoutValidator(models: ModelLoader(environment: [:]), topologies: TopologyLoader()).validate(
      text,
      source: path
    )
    guard let spec = try? HFConfigReader.read(bytes, name: "fuzz", source: path) else { return }
    // Contexts the model allows, as the command line would ask for them.
    let context = max(1, min(spec.maxContext, 4096))
    let training = Workload.Training(method: .lora)
    for (model, weights) in [(spec, PlannedWeights.asStored(spec)), (spec.converted(to: .int4), .converted(.int4))] {
      for workload in [
        Workload(context: context, batch: 4, kvCache: .fp8, engine: .vllm, gpus: 2),
        Workload(context: context, engine: .llamaCpp),
        Workload(mode: .training(training), context: min(context, 2048), engine: .transformers),
      ] {
        _ = MemoryModel.estimate(model: model, workload: workload, weights: weights)
      }
    }
    if let graph = fuzzGraph, let planner = try? Planner(graph: graph) {
      _ = planner.plan(InferenceRequest(model: spec, weights: .asStored(spec), context: context, concurrency: 2))
    }
  }

  /// Two RTX PRO 6000 cards, the graph the planner prices configs against.
  private static let fuzzGraph = try? TopologyLoader().load(["2x-rtx-pro-6000-blackwell"])

  /// The text as every text reader reads it: nvidia-smi text, CSV and XML, NCCL
  /// XML, topology and layout files, engine logs, and the device graph built from what reads.
  @_spi(Fuzzing) public static func topologyText(_ text: String, source: String = "fuzz") {
    _ = try? NvidiaSmiText.read(text, source: source)
    _ = try? NvidiaSmiText.read(text, source: source, queryFields: ["index", "name", "memory.total"])
    _ = try? NvidiaSmiXML.read(text, source: source)
    _ = try? NCCLTopologyXML.read(text, source: source)
    _ = Layout.read(text, source: source)
    _ = try? EngineLog.read(text: text, source: source)
    if let contents = try? TopologyFile.read(text, source: source) {
      _ = DeviceGraphBuilder.build(name: source, hosts: contents.hosts)
    }
    if let facts = try? NvidiaSmiText.read(text, source: source) {
      let graph = DeviceGraphBuilder.build(name: source, hosts: [HostInput(facts: facts)])
      _ = graph.tableText()
      _ = graph.fastIslands()
    }
  }
}
