/// A change that makes a plan fit, found by applying it to the request and
/// planning again. A fix names no tool's flags: the command line renders it in
/// its own (``Plan/tableText(fixFlags:)``), a library caller applies it.
///
/// Encoded in JSON as `{"change": KIND, "value": …, "role": …, "summary": …}`.
public struct Fix: Hashable, Sendable, Codable, CustomStringConvertible {
  /// What to change.
  public enum Change: Hashable, Sendable {
    /// Store the KV cache in this type.
    case kvCache(KVCacheType)
    /// Convert the weights to this format.
    case weights(WeightFormat)
    /// Serve sequences of at most this many tokens (inference), or train on them.
    case context(Int)
    /// Serve this many sequences at once.
    case concurrency(Int)
    /// Let the engine take this fraction of each card (vLLM's
    /// `--gpu-memory-utilization`, SGLang's `--mem-fraction-static`).
    case memoryFraction(Double)
    /// Serve with this engine, which keeps `cpuLayers` decoder layers in CPU RAM.
    case offloadLayers(engine: Engine, cpuLayers: Int)
    /// Serve with this engine, which keeps the routed experts of the first
    /// `cpuExpertLayers` layers in CPU RAM (llama.cpp `--n-cpu-moe`).
    case offloadExperts(engine: Engine, cpuExpertLayers: Int)
    /// Use at least this many GPUs like GPU `like`.
    case gpus(count: Int, like: Int)
    /// Training: let the planner choose the ZeRO stage, offload and checkpointing.
    case searchTrainingSetup
    /// Training: train with this method (adapters instead of every weight).
    case trainingMethod(Workload.Training.Method)
    /// No single change of the request makes it fit: more or larger GPUs.
    case addGPUs

    /// The kind's name in JSON.
    var kind: String {
      switch self {
      case .kvCache: "kv-cache"
      case .weights: "weights"
      case .context: "context"
      case .concurrency: "concurrency"
      case .memoryFraction: "memory-fraction"
      case .offloadLayers: "offload-layers"
      case .offloadExperts: "offload-experts"
      case .gpus: "gpus"
      case .searchTrainingSetup: "search-training-setup"
      case .trainingMethod: "training-method"
      case .addGPUs: "add-gpus"
      }
    }
  }

  /// The role the fix is for, in a plan of several roles.
  public var role: String?
  /// The change.
  public var change: Change
  /// The fix in words, with what planning again found (the context or speed it gives).
  public var summary: String

  /// A fix.
  package init(_ change: Change, role: String? = nil, summary: String) {
    self.change = change
    self.role = role
    self.summary = summary
  }

  /// `ROLE: SUMMARY`.
  public var description: String { (role.map { "\($0): " } ?? "") + summary }

  /// The request with the change applied; nil when the change is not one a serving
  /// request can take (more GPUs, a training setup).
  public func apply(to request: InferenceRequest) -> InferenceRequest? {
    var changed = request
    switch change {
    case .kvCache(let type): changed.kvCache = type
    case .weights(let format):
      changed.model = request.model.converted(to: format)
      changed.weights = .converted(format)
    case .context(let tokens): changed.context = tokens
    case .concurrency(let sequences): changed.concurrency = sequences
    case .memoryFraction(let fraction):
      guard changed.profile.memoryFraction != nil else { return nil }
      changed.profile.memoryFraction = fraction
    case .offloadLayers(let engine, _), .offloadExperts(let engine, _):
      // The old engine's default KV cache becomes the new one's, as does a type the new one lacks.
      let profile = EngineProfile.profile(engine)
      if request.kvCache == EngineProfile.profile(request.engine).defaultKVCache
        || profile.kvCacheSpellings[request.kvCache] == nil
      {
        changed.kvCache = profile.defaultKVCache
      }
      changed.engine = engine
    case .gpus, .searchTrainingSetup, .trainingMethod, .addGPUs: return nil
    }
    return changed
  }

  /// The training request with the change applied; nil when the change is not one
  /// a training request can take.
  public func apply(to request: TrainingRequest) -> TrainingRequest? {
    var changed = request
    switch change {
    case .searchTrainingSetup: changed.searchSetup = true
    case .trainingMethod(let method):
      changed.setup.method = method
      changed.searchSetup = true
    case .context(let tokens):
      changed.sequence = tokens
      changed.searchSetup = true
    default: return nil
    }
    return changed
  }

  enum CodingKeys: String, CodingKey { case change, value, role, summary }

  /// The value of an `offload-layers` fix.
  private struct OffloadValue: Codable {
    var engine: String
    var cpuLayers: Int
  }

  /// The value of an `offload-experts` fix.
  private struct ExpertOffloadValue: Codable {
    var engine: String
    var cpuExpertLayers: Int
  }

  /// Encodes the value in its JSON form.
  public func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: CodingKeys.self)
    try container.encode(change.kind, forKey: .change)
    try container.encodeIfPresent(role, forKey: .role)
    try container.encode(summary, forKey: .summary)
    switch change {
    case .kvCache(let type): try container.encode(type.rawValue, forKey: .value)
    case .weights(let format): try container.encode(format.key, forKey: .value)
    case .context(let value), .concurrency(let value): try container.encode(value, forKey: .value)
    case .memoryFraction(let value): try container.encode(value, forKey: .value)
    case .offloadLayers(let engine, let layers):
      try container.encode(OffloadValue(engine: engine.rawValue, cpuLayers: layers), forKey: .value)
    case .offloadExperts(let engine, let layers):
      try container.encode(ExpertOffloadValue(engine: engine.rawValue, cpuExpertLayers: layers), forKey: .value)
    case .gpus(let count, let like): try container.encode(["count": count, "like": like], forKey: .value)
    case .trainingMethod(let method): try container.encode(method.rawValue, forKey: .value)
    case .searchTrainingSetup, .addGPUs: break
    }
  }

  /// Decodes the value from its JSON form.
  public init(from decoder: any Decoder) throws {
    let container = try decoder.container(keyedBy: CodingKeys.self)
    role = try container.decodeIfPresent(String.self, forKey: .role)
    summary = try container.decode(String.self, forKey: .summary)
    let kind = try container.decode(String.self, forKey: .change)
    func text() throws -> String { try container.decode(String.self, forKey: .value) }
    func fail() -> DecodingError {
      .dataCorruptedError(forKey: .value, in: container, debugDescription: "not a value of a '\(kind)' fix")
    }
    switch kind {
    case "kv-cache":
      guard let type = KVCacheType(rawValue: try text()) else { throw fail() }
      change = .kvCache(type)
    case "weights":
      let key = try text()
      guard let format = WeightFormat.all.first(where: { $0.key == key }) else { throw fail() }
      change = .weights(format)
    case "context": change = .context(try container.decode(Int.self, forKey: .value))
    case "concurrency": change = .concurrency(try container.decode(Int.self, forKey: .value))
    case "memory-fraction":
      let value = try container.decode(Double.self, forKey: .value)
      guard value > 0, value <= 1 else { throw fail() }
      change = .memoryFraction(value)
    case "offload-layers":
      let value = try container.decode(OffloadValue.self, forKey: .value)
      guard let engine = Engine(rawValue: value.engine) else { throw fail() }
      change = .offloadLayers(engine: engine, cpuLayers: value.cpuLayers)
    case "offload-experts":
      let value = try container.decode(ExpertOffloadValue.self, forKey: .value)
      guard let engine = Engine(rawValue: value.engine) else { throw fail() }
      change = .offloadExperts(engine: engine, cpuExpertLayers: value.cpuExpertLayers)
    case "gpus":
      let value = try container.decode([String: Int].self, forKey: .value)
      guard let count = value["count"], let like = value["like"] else { throw fail() }
      change = .gpus(count: count, like: like)
    case "search-training-setup": change = .searchTrainingSetup
    case "training-method":
      guard let method = Workload.Training.Method(rawValue: try text()) else { throw fail() }
      change = .trainingMethod(method)
    case "add-gpus": change = .addGPUs
    default:
      throw DecodingError.dataCorruptedError(forKey: .change, in: container, debugDescription: "unknown fix '\(kind)'")
    }
  }
}
