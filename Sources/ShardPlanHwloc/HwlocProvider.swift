public import ShardPlan

/// ``HwlocProviding`` backed by libhwloc, for ``TopologyLoader``.
public struct HwlocProvider: HwlocProviding {
  public init() {}

  public func localFacts() throws -> MachineFacts {
    try HwlocTopology.discoverLocal()
  }

  public func facts(fromXMLFile path: String) throws -> MachineFacts {
    try HwlocTopology.readXML(path: path)
  }
}
