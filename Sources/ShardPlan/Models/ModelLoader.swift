import Foundation

/// Turns a MODEL argument into a ``ModelSpec``.
///
/// MODEL is, in the order tried: a `.gguf` file; a folder with `config.json`
/// (and safetensors files or their index, whose headers then give the exact
/// tensor list); a `config.json` or index file; a bundled model's Hub id
/// (`Qwen/Qwen3-32B`); a Hub id in the local Hugging Face cache (`HF_HUB_CACHE`,
/// `HF_HOME/hub`, `~/.cache/huggingface/hub`); and, unless `HF_HUB_OFFLINE` is set,
/// the Hub itself through a ``HubFetching`` client (config.json, the index and
/// each shard's header by range requests — never the weights).
public struct ModelLoader: Sendable {
  /// Environment variables (`HF_HOME`, `HF_HUB_CACHE`, `HF_HUB_OFFLINE`, `HOME`).
  package var environment: [String: String]
  /// Fetches from the Hub when the model is nowhere local; nil to stay offline.
  package var hub: (any HubFetching)?
  /// The Hub revision (branch, tag or commit) to read from the HF cache; nil for `main`.
  package var revision: String?

  /// A loader reading the HF cache and offline setting from `environment`, and the Hub through `hub` when given.
  public init(
    environment: [String: String] = ProcessInfo.processInfo.environment,
    hub: (any HubFetching)? = nil,
    revision: String? = nil
  ) {
    self.environment = environment
    self.hub = hub
    self.revision = revision
  }

  /// Reads the model named by `reference`.
  /// - Throws: ``InputError`` when it is found nowhere or cannot be read, and
  ///   when its architecture is unknown and only config.json describes it (fail
  ///   closed: neither its weights nor its KV cache would be more than a guess).
  public func load(_ reference: String) throws -> ModelSpec {
    let spec = try find(reference)
    if let architecture = spec.unknownArchitecture, spec.tensorSource == .config {
      throw InputError(
        .unknownName,
        source: reference,
        field: "model_type",
        message:
          "'\(architecture)' is not an architecture shardplan knows, so config.json alone gives neither its weights nor its KV cache",
        expected: "a family of `Models/Families/` (Llama, Qwen, Mistral, Gemma, Phi, DeepSeek, gpt-oss, GPT-2, BERT …)",
        fix:
          "Give the model's folder with its safetensors files (weights are then exact, from their headers) and its KV cache with --kv-bytes-per-token N, or a GGUF file; or open an issue with this config.json"
      )
    }
    return spec
  }

  private func find(_ reference: String) throws -> ModelSpec {
    var isDirectory: ObjCBool = false
    if FileManager.default.fileExists(atPath: reference, isDirectory: &isDirectory) {
      if isDirectory.boolValue { return try Self.loadFolder(reference, name: reference) }
      if reference.lowercased().hasSuffix(".gguf") { return try GGUFModel.spec(path: reference) }
      if reference.hasSuffix(".safetensors") {
        let folder = (reference as NSString).deletingLastPathComponent
        return try Self.loadFolder(folder.isEmpty ? "." : folder, name: reference, onlyShard: reference)
      }
      let text = try ByteSource.readWhole(reference, limit: ByteSource.jsonLimit)
      if let json = try? JSONValue.parse(text, source: reference), json["weight_map"] != nil {
        let folder = (reference as NSString).deletingLastPathComponent
        return try Self.loadFolder(folder.isEmpty ? "." : folder, name: reference)
      }
      return try HFConfigReader.read(text, name: reference, source: reference)
    }
    if reference.hasPrefix("lmstudio:") {
      guard let file = try LMStudioStore(environment: environment).file(for: reference) else {
        throw InputError(
          .unknownName,
          source: reference,
          message:
            "not in LM Studio's models folder (\(LMStudioStore(environment: environment).folders.joined(separator: ", ")))",
          expected: "lmstudio:PUBLISHER/REPOSITORY or lmstudio:PUBLISHER/REPOSITORY/FILE.gguf",
          fix: "Download it in LM Studio, or give the .gguf file's path"
        )
      }
      return try GGUFModel.spec(path: file)
    }
    if OllamaStore.looksLikeName(reference) {
      if let blob = try OllamaStore(environment: environment).blob(for: reference) {
        var spec = try GGUFModel.spec(path: blob)
        spec.notes.append("read from Ollama's store: \(reference) → \(blob)")
        return spec
      }
      if reference.hasPrefix("ollama:") {
        throw InputError(
          .unknownName,
          source: reference,
          message:
            "no Ollama manifest for it in \(OllamaStore(environment: environment).folders.joined(separator: ", "))",
          expected: "a pulled model, as `ollama list` shows it (name:tag)",
          fix: "Pull it (`ollama pull \(reference.dropFirst(7))`) or set OLLAMA_MODELS to the store"
        )
      }
    }
    if let bundled = BundledModels.config(for: reference), revision == nil {
      return try HFConfigReader.read(Data(bundled.json.utf8), name: bundled.id, source: "bundled:\(bundled.id)")
    }
    if Self.looksLikeHubID(reference) {
      if let snapshot = try HuggingFaceCache(environment: environment).snapshot(for: reference, revision: revision) {
        return try Self.loadFolder(snapshot, name: reference)
      }
      if let file = try LMStudioStore(environment: environment).file(for: reference) {
        return try GGUFModel.spec(path: file)
      }
      let offline = ["1", "true", "yes", "on"].contains((environment["HF_HUB_OFFLINE"] ?? "").lowercased())
      if let hub, !offline {
        do {
          return try hub.fetchModel(reference)
        } catch var error as InputError {
          // A mistyped id of a bundled model is likelier than a missing network.
          let hint = NameSuggestions.didYouMean(reference, among: BundledModels.ids)
          if !hint.isEmpty { error.fix = (error.fix.map { $0 + "." } ?? "") + hint }
          throw error
        }
      }
      throw InputError(
        .unknownName,
        source: reference,
        message: offline
          ? "not in the Hugging Face cache, and HF_HUB_OFFLINE is set"
          : "not a bundled model and not in the Hugging Face cache",
        expected: "a path, a bundled model (`shardplan models`), or a Hub id in the cache",
        fix:
          "Download its config.json (`huggingface-cli download \(reference) config.json`) or give a local path.\(NameSuggestions.didYouMean(reference, among: BundledModels.ids))"
      )
    }
    throw InputError(
      .unknownName,
      source: reference,
      message: "no such file, bundled model or Hub id",
      expected: "a .gguf file, a folder with config.json, a config.json, or a Hub id such as Qwen/Qwen3-32B",
      fix: "Run `shardplan models` for the bundled models"
    )
  }

  static func looksLikeHubID(_ text: String) -> Bool {
    let parts = text.split(separator: "/", omittingEmptySubsequences: false)
    return parts.count == 2
      && parts.allSatisfy { part in
        !part.isEmpty && part.allSatisfy { $0.isLetter || $0.isNumber || "-_.".contains($0) } && !part.hasPrefix(".")
      }
  }

  /// A model folder: config.json plus, when present, safetensors headers.
  static func loadFolder(_ folder: String, name: String, onlyShard: String? = nil) throws -> ModelSpec {
    let configPath = (folder as NSString).appendingPathComponent("config.json")
    let files = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
    guard FileManager.default.fileExists(atPath: configPath) else {
      let ggufs = files.filter { $0.lowercased().hasSuffix(".gguf") }.sorted()
      if ggufs.count == 1 { return try GGUFModel.spec(path: (folder as NSString).appendingPathComponent(ggufs[0])) }
      throw InputError(
        .unreadable,
        source: folder,
        message: "no config.json in this folder",
        expected: "a Hugging Face model folder (config.json with safetensors) or one .gguf file",
        fix: "Give the path of the .gguf file, or the folder that holds config.json"
      )
    }
    var spec = try HFConfigReader.read(
      try ByteSource.readWhole(configPath, limit: ByteSource.jsonLimit),
      name: name,
      source: configPath
    )
    // The exact tensor list: the index's shards, or every .safetensors file here.
    var shards: [String] = []
    var declaredTotal: Int64?
    let indexPath = (folder as NSString).appendingPathComponent("model.safetensors.index.json")
    if let onlyShard {
      shards = [onlyShard]
    } else if FileManager.default.fileExists(atPath: indexPath) {
      let index = try SafetensorsReader.readIndex(path: indexPath)
      declaredTotal = index.totalSize
      shards = index.shards.map { (folder as NSString).appendingPathComponent($0) }
      let missing = shards.filter { !FileManager.default.fileExists(atPath: $0) }
      if !missing.isEmpty {
        spec.notes.append(
          "\(missing.count) of \(shards.count) shards listed in the index are not here; tensors come from config.json"
        )
        if let declaredTotal {
          spec.notes.append(
            "the index declares \(declaredTotal) bytes of tensors; config.json gives \(spec.weightBytes)"
          )
        }
        return spec
      }
    } else {
      shards = files.filter { $0.hasSuffix(".safetensors") }.sorted().map {
        (folder as NSString).appendingPathComponent($0)
      }
    }
    guard !shards.isEmpty else { return spec }
    var entries: [SafetensorsReader.Entry] = []
    for shard in shards { entries.append(contentsOf: try SafetensorsReader.readHeader(path: shard)) }
    try SafetensorsReader.checkHoldsWeights(entries, source: shards.count == 1 ? shards[0] : folder)
    let fromConfig = spec.weightBytes
    spec = spec.replacingTensors(with: entries, source: .safetensors(origin: nil))
    if let declaredTotal, declaredTotal != spec.weightBytes {
      spec.notes.append(
        "the index declares total_size \(declaredTotal) bytes but the shards' headers add up to \(spec.weightBytes)"
      )
    }
    if onlyShard == nil, fromConfig != spec.weightBytes {
      spec.notes.append(
        "config.json implies \(fromConfig) bytes of tensors; the safetensors headers (used) hold \(spec.weightBytes)"
      )
    }
    return spec
  }
}

extension ModelSpec {
  /// The same model with its tensor list taken from safetensors headers.
  package func replacingTensors(with entries: [SafetensorsReader.Entry], source: TensorSource) -> ModelSpec {
    var copy = self
    let scaleSuffixes = [
      "_scales", "weight_scale_inv", ".scales", ".qzeros", ".g_idx", ".absmax", ".quant_map", ".nested_absmax",
      ".nested_quant_map", ".SCB", ".weight_scale", ".weight_shape", ".weight_zero_point", "quant_state",
    ]
    let buffers = ["attn.bias", "attn.masked_bias", "inv_freq", "position_ids"]
    copy.tensors = entries.sorted { $0.name < $1.name }.map { entry in
      let layer = TensorNaming.layer(of: entry.name)
      var role = TensorNaming.role(of: entry.name, layer: layer, decoderLayers: layers)
      var parameters = entry.shape.reduce(1, *)
      if buffers.contains(where: { entry.name.hasSuffix($0) }) {
        role = .buffer
        parameters = 0
      } else if scaleSuffixes.contains(where: { entry.name.hasSuffix($0) || entry.name.contains($0 + ".") }) {
        parameters = 0
      } else if entry.name.hasSuffix("_blocks") || (entry.dtype == .u8 && entry.name.hasSuffix(".weight")) {
        parameters *= 2  // two 4-bit values per byte (MXFP4 blocks, bitsandbytes 4-bit)
      } else if entry.name.hasSuffix(".qweight") || entry.name.hasSuffix("weight_packed") {
        parameters *= 8  // eight 4-bit values per int32
      }
      return TensorSpec(
        name: entry.name,
        shape: entry.shape,
        storage: .dense(entry.dtype),
        bytes: entry.bytes,
        layer: layer,
        role: role,
        parameters: parameters,
        expert: TensorNaming.expert(of: entry.name)
      )
    }
    copy.tensorSource = source
    return copy
  }
}

/// Finds models in the local Hugging Face cache.
package struct HuggingFaceCache: Sendable {
  /// The environment that names the cache (`HF_HUB_CACHE`, `HF_HOME`).
  package var environment: [String: String]

  /// A loader reading the HF cache and offline setting from `environment`, and the Hub through `hub` when given.
  package init(environment: [String: String]) { self.environment = environment }

  /// The hub cache folder: `HF_HUB_CACHE`, else `HF_HOME/hub`, else
  /// `~/.cache/huggingface/hub` (huggingface_hub's own order).
  package var hubFolder: String {
    if let cache = environment["HF_HUB_CACHE"] ?? environment["HUGGINGFACE_HUB_CACHE"], !cache.isEmpty { return cache }
    if let home = environment["HF_HOME"], !home.isEmpty { return (home as NSString).appendingPathComponent("hub") }
    let base = environment["XDG_CACHE_HOME"].map { $0 } ?? ((environment["HOME"] ?? NSHomeDirectory()) + "/.cache")
    return base + "/huggingface/hub"
  }

  /// The snapshot folder of a model at `revision` (nil: `main`), as huggingface_hub
  /// lays the cache out: `models--ORG--NAME/refs/<branch or tag>` holds a commit,
  /// `snapshots/<commit>` its files. A commit (or a unique prefix of at least 7
  /// hex digits) names a snapshot directly. Without a revision and without
  /// `refs/main`, the only (or last) snapshot with a config.json; nil when not cached.
  ///
  /// - Throws: ``InputError`` when `revision` is asked for and the model is cached
  ///   but not at that revision (another revision is never silently taken).
  package func snapshot(for id: String, revision: String? = nil) throws -> String? {
    let repo = (hubFolder as NSString).appendingPathComponent("models--" + id.replacingOccurrences(of: "/", with: "--"))
    let snapshots = (repo as NSString).appendingPathComponent("snapshots")
    func hasConfig(_ folder: String) -> Bool { FileManager.default.fileExists(atPath: folder + "/config.json") }
    func commit(ofRef name: String) -> String? {
      guard !name.contains(".."), let ref = try? String(contentsOfFile: repo + "/refs/" + name, encoding: .utf8) else {
        return nil
      }
      let commit = ref.trimmingCharacters(in: .whitespacesAndNewlines)
      return commit.contains("/") || commit.isEmpty ? nil : commit
    }
    let all = ((try? FileManager.default.contentsOfDirectory(atPath: snapshots)) ?? []).sorted()
    if let revision {
      guard FileManager.default.fileExists(atPath: repo) else { return nil }
      var candidates: [String] = []
      if let commit = commit(ofRef: revision) { candidates.append(commit) }
      if revision.count >= 7, revision.allSatisfy(\.isHexDigit) {
        candidates += all.filter { $0.hasPrefix(revision.lowercased()) }
      }
      let found = Array(Set(candidates)).sorted().map { snapshots + "/" + $0 }.filter(hasConfig)
      guard found.count == 1 else {
        throw InputError(
          .unknownName,
          source: repo,
          field: "--revision",
          message: found.isEmpty
            ? "\(id) is cached, but not at revision '\(revision)'"
            : "revision '\(revision)' matches \(found.count) cached snapshots",
          expected: "a branch or tag under refs/, or a commit among: \(all.joined(separator: ", "))",
          fix: "huggingface-cli download \(id) config.json --revision \(revision)"
        )
      }
      return found[0]
    }
    if let commit = commit(ofRef: "main"), hasConfig(snapshots + "/" + commit) { return snapshots + "/" + commit }
    let candidates = all.map { (snapshots as NSString).appendingPathComponent($0) }.filter(hasConfig)
    return candidates.count == 1 ? candidates[0] : candidates.last
  }

  /// The Hub token as huggingface_hub finds it: `HF_TOKEN`, else the file
  /// `HF_TOKEN_PATH`, else `HF_HOME/token` (`~/.cache/huggingface/token`); nil when none.
  package var token: String? {
    for name in ["HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"] {
      if let value = environment[name]?.trimmingCharacters(in: .whitespacesAndNewlines), !value.isEmpty { return value }
    }
    let home =
      environment["HF_HOME"].flatMap { $0.isEmpty ? nil : $0 }
      ?? ((environment["XDG_CACHE_HOME"] ?? ((environment["HOME"] ?? NSHomeDirectory()) + "/.cache")) + "/huggingface")
    let path = environment["HF_TOKEN_PATH"].flatMap { $0.isEmpty ? nil : $0 } ?? home + "/token"
    guard let data = try? ByteSource.readWhole(path, limit: 4096) else { return nil }
    let token = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    return token.isEmpty ? nil : token
  }
}

/// Fetches a model's config and safetensors headers from the Hub.
public protocol HubFetching: Sendable {
  /// Reads `id` from the Hub: config.json, the index, and every shard's header.
  func fetchModel(_ id: String) throws -> ModelSpec
}
