import ArgumentParser
import Foundation
import ShardPlan
import ShardPlanHub
import ShardPlanHwloc

extension Engine: ExpressibleByArgument {}

/// The options `estimate` and `plan` share: the weights' precision, the context, the
/// KV cache type and the engine, with the defaults both apply.
struct ModelOptions: ParsableArguments {
  @Option(
    help: "Weights as fp32, fp16, bf16 or fp8; auto (the default) keeps them as stored, as vLLM's --dtype auto does."
  )
  var dtype: String?

  @Option(help: "Quantize weights: int8, int4, nf4, mxfp4, fp8, or a llama.cpp type (q4_k_m, q8_0, …).")
  var quant: String?

  @Option(
    help:
      "Tokens per sequence, a number or as vLLM writes it (32k = 32000, 32K = 32768) (default: the model's context, at most 8192; training: at most 2048)."
  )
  var context: TokenCount?

  @Option(
    name: .customLong("kv-dtype"),
    help: "KV cache type: auto, f16, bf16, fp8, q8_0, q4_0 … (auto: f16 for llama.cpp, else bf16)."
  )
  var kvDtype: String = "auto"

  @Option(help: "Engine: vllm, sglang, llama.cpp or transformers (default: llama.cpp for GGUF, else vllm).")
  var engine: Engine?

  @Option(
    name: .customLong("kv-bytes-per-token"),
    help:
      "KV cache bytes per token over all layers, for a model of an architecture shardplan does not know (its weights from safetensors headers); ignored for known ones."
  )
  var kvBytesPerToken: Int64?

  @Option(
    name: .customLong("memory-fraction"),
    help:
      "Share of each GPU the engine may take: vLLM's --gpu-memory-utilization, SGLang's --mem-fraction-static (default 0.9 and 0.88; at most 0.95)."
  )
  var memoryFraction: Double?

  @Option(help: "Hub revision (branch, tag or commit) to read from the HF cache or the Hub (default: main).")
  var revision: String?

  /// The loader of this command's models: the HF cache and the Hub at `--revision`.
  var loader: ModelLoader { ModelLoader(hub: HubClient.fromEnvironment(revision: revision), revision: revision) }

  func validate() throws {
    if let memoryFraction, !(0.1...EngineProfile.highestMemoryFraction).contains(memoryFraction) {
      throw ValidationError(
        "--memory-fraction must be from 0.1 to \(EngineProfile.highestMemoryFraction): the CUDA context needs the rest of the card"
      )
    }
    if let dtype, dtype != "auto", WeightFormat(dtype: dtype) == nil {
      throw ValidationError("unknown --dtype '\(dtype)'; expected auto (as stored), fp32, fp16, bf16 or fp8")
    }
    if let quant, WeightFormat(quant: quant) == nil {
      throw ValidationError(
        "unknown --quant '\(quant)'; expected int8, int4, nf4, mxfp4, fp8 or one of \(GGUFQuantization.allCases.map(\.rawValue).joined(separator: ", "))"
      )
    }
    if dtype != nil && dtype != "auto" && quant != nil { throw ValidationError("give --dtype or --quant, not both") }
    if kvDtype != "auto" && KVCacheType(name: kvDtype) == nil {
      throw ValidationError(
        "unknown --kv-dtype '\(kvDtype)'; expected auto, \(KVCacheType.allCases.map(\.rawValue).joined(separator: ", "))"
      )
    }
    if let kvBytesPerToken, kvBytesPerToken < 1 || kvBytesPerToken > 1 << 30 {
      throw ValidationError("--kv-bytes-per-token must be from 1 to 1073741824")
    }
    if let context = context?.value, context < 1 || context > 100_000_000 {
      throw ValidationError("--context must be from 1 to 100000000")
    }
  }

  /// The weight format asked for with `--dtype` or `--quant`, if any.
  var format: WeightFormat? { dtype.flatMap(WeightFormat.init(dtype:)) ?? quant.flatMap(WeightFormat.init(quant:)) }

  /// The model in the weight format asked for, and its weights as planned (as
  /// stored when no format was asked for: ``PlannedWeights/asStored(_:)``), with
  /// the KV cache of `--kv-bytes-per-token` when its architecture is unknown.
  func weights(_ loaded: ModelSpec) -> (spec: ModelSpec, weights: PlannedWeights) {
    var model = loaded
    if let kvBytesPerToken, model.unknownArchitecture != nil { model = model.withKVBytesPerToken(kvBytesPerToken) }
    if let format { return (model.converted(to: format), .converted(format)) }
    return (model, .asStored(model))
  }

  /// Refuses to serve a model whose KV cache is unknown (exit status 2), saying
  /// what to give.
  func requireKnownKVCache(_ spec: ModelSpec, source: String) throws {
    guard !spec.kvCacheIsKnown, let architecture = spec.unknownArchitecture else { return }
    throw InputError(
      .unknownName,
      source: source,
      field: "model_type",
      message:
        "'\(architecture)' is not an architecture shardplan knows: its weights are exact (\(spec.tensorSource)) but its KV cache is not",
      fix:
        "Give the KV cache bytes per token over all layers with --kv-bytes-per-token N (an engine's startup log states it), or open an issue with the model's config.json"
    )
  }

  /// The engine: as given, else ``Engine/default(for:format:)``.
  func engine(for spec: ModelSpec) -> Engine { engine ?? .default(for: spec, format: format) }

  /// The KV cache type: as given, else f16 for llama.cpp (its default) and bf16 otherwise.
  func kvCache(for engine: Engine) -> KVCacheType {
    KVCacheType(name: kvDtype) ?? EngineProfile.profile(engine).defaultKVCache
  }

  /// Refuses a KV cache type the engine does not have (vLLM has no q8_0, llama.cpp
  /// no fp8), as the engine itself would at start.
  ///
  /// - Throws: ``InputError`` naming the types it has.
  func requireEngineKVCache(_ engine: Engine, source: String) throws {
    let type = kvCache(for: engine)
    let profile = EngineProfile.profile(engine)
    guard !profile.kvCacheSpellings.isEmpty, profile.kvCacheSpellings[type] == nil else { return }
    throw InputError(
      .inconsistent,
      source: source,
      field: "--kv-dtype",
      message: "\(engine.rawValue) has no \(type.rawValue) KV cache",
      expected: profile.kvCacheSpellings.keys.map(\.rawValue).sorted().joined(separator: ", "),
      fix: "Use --kv-dtype \(profile.compactKVCache.rawValue) (its 8-bit cache) or another engine"
    )
  }

  /// Tokens per sequence: as given, else the model's context up to `cap`.
  func context(for spec: ModelSpec, cap: Int = 8192) -> Int { context?.value ?? spec.defaultContext(cap: cap) }

  /// The serving request of `plan` for a loaded model: weights as asked, the engine
  /// and context as given (or their defaults), `concurrency` sequences.
  func request(
    for loaded: ModelSpec,
    concurrency: Int,
    engine given: Engine? = nil,
    context givenContext: Int? = nil
  ) throws -> InferenceRequest {
    let (spec, weights) = weights(loaded)
    try requireKnownKVCache(spec, source: loaded.name)
    let engine = given ?? engine(for: spec)
    var request = InferenceRequest(
      model: spec,
      weights: weights,
      context: context?.value ?? givenContext ?? context(for: spec),
      concurrency: concurrency,
      kvCache: kvCache(for: engine),
      engine: engine
    )
    try requireEngineKVCache(engine, source: spec.name)
    if let fraction = memoryFraction {
      guard request.profile.memoryFraction != nil else {
        throw InputError(
          .inconsistent,
          source: spec.name,
          field: "--memory-fraction",
          message: "\(engine.rawValue) takes no memory fraction (it allocates what it needs)",
          expected: "--engine vllm or sglang",
          fix: "Leave out --memory-fraction"
        )
      }
      request.profile.memoryFraction = fraction
    }
    return request
  }
}

/// A token count as vLLM's `human_readable_int` reads it: a whole number, or one
/// with a decimal (`32k` = 32,000, `25.6k` = 25,600) or binary (`32K` = 32,768)
/// suffix k, m, g.
struct TokenCount: ExpressibleByArgument, Hashable {
  var value: Int

  init?(argument: String) {
    guard let value = Self.parse(argument) else { return nil }
    self.value = value
  }

  static func parse(_ text: String) -> Int? {
    let text = text.trimmingCharacters(in: .whitespaces)
    if let value = Int(text) { return value }
    guard let suffix = text.last, let multiplier = Self.multipliers[suffix] else { return nil }
    let number = String(text.dropLast())
    if suffix.isUppercase {
      guard let whole = Int(number), whole >= 0, whole <= 100_000_000 else { return nil }
      return whole * multiplier
    }
    guard let decimal = Double(number), decimal >= 0, decimal * Double(multiplier) <= 1e9 else { return nil }
    return Int(decimal * Double(multiplier))
  }

  static let multipliers: [Character: Int] = [
    "k": 1_000, "m": 1_000_000, "g": 1_000_000_000, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30,
  ]
}

/// The topology a plan is made for, refused when it has no GPU (`local` on a
/// machine without an NVIDIA GPU, or a file that lists none).
///
/// - Throws: ``InputError`` saying how to plan for another machine.
func loadTopologyWithGPUs(_ topology: String) throws -> DeviceGraph {
  let graph = try TopologyLoader(hwloc: .libhwloc).load([topology])
  guard graph.gpus.isEmpty else { return graph }
  throw InputError(
    .inconsistent,
    source: topology,
    message: topology == "local"
      ? "this machine has no NVIDIA GPU (nvidia-smi found none)" : "the topology lists no GPU",
    expected: "a machine with at least one GPU",
    fix:
      "Plan for a machine with --topology NAME (`shardplan topology --list`) or a captured file (nvidia-smi topo -m, -q -x, an hwloc XML)"
  )
}

/// The calibration file at `path`, or the built-in assumptions without one.
func loadCalibration(_ path: String?) throws -> Calibration {
  guard let path else { return .builtIn }
  return try Calibration.read(TopologyLoader.readFile(path), source: path)
}
