import ShardPlan

extension Fix {
  /// The fix in this tool's own flags (`shardplan plan …`), nil where no flag makes
  /// it (more GPUs).
  var flags: String? {
    switch change {
    case .kvCache(let type): "--kv-dtype \(type.rawValue)"
    case .weights(let format):
      if case .float = format { "--dtype \(format.key)" } else { "--quant \(format.key)" }
    case .context(let tokens): "--context \(tokens)"
    case .concurrency(let sequences): "--concurrency \(sequences)"
    case .memoryFraction(let fraction): "--memory-fraction \(Units.formatDecimal(fraction, places: 2))"
    case .offloadLayers(let engine, _), .offloadExperts(let engine, _): "--engine \(engine.rawValue)"
    case .searchTrainingSetup: "leave out --zero, --offload and --gradient-checkpointing"
    case .trainingMethod(let method): "--train \(method.rawValue)"
    case .gpus, .addGPUs: nil
    }
  }
}
