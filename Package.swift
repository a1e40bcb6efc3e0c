// swift-tools-version:6.0
import PackageDescription

let package = Package(
  name: "shardplan",
  products: [
    .library(name: "ShardPlan", targets: ["ShardPlan"]),
    .library(name: "ShardPlanHwloc", targets: ["ShardPlanHwloc"]),
    .library(name: "ShardPlanHub", targets: ["ShardPlanHub"]),
    .executable(name: "shardplan", targets: ["shardplan"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
    .package(url: "https://github.com/jpsim/Yams.git", from: "6.0.0"),
  ],
  targets: [
    // MARK: - C libraries, loaded at run time (dlopen)
    // libhwloc: hwloc.h at build time (Debian: libhwloc-dev), libhwloc.so.15 at run time.
    .target(name: "CHwloc", linkerSettings: [.linkedLibrary("dl")]),

    // MARK: - Libraries
    .target(
      name: "ShardPlan",
      dependencies: [.product(name: "Yams", package: "Yams")]
    ),
    .target(name: "ShardPlanHwloc", dependencies: ["ShardPlan", "CHwloc"]),
    // HTTP GET over libcurl's easy interface, libcurl loaded at run time (dlopen).
    .target(name: "CCurlShim", linkerSettings: [.linkedLibrary("dl")]),
    // The Hugging Face Hub client (over CCurlShim), kept out of ShardPlan.
    .target(name: "ShardPlanHub", dependencies: ["ShardPlan", "CCurlShim"]),
    // Paths to fixtures for the tests; not a product.
    .target(name: "_ShardPlanTestSupport"),

    // MARK: - Tool
    .executableTarget(
      name: "shardplan",
      dependencies: [
        "ShardPlan", "ShardPlanHwloc", "ShardPlanHub",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ]
    ),

    // MARK: - Examples
    .executableTarget(name: "OrchestratorExample", dependencies: ["ShardPlan"], path: "Examples/OrchestratorExample"),

    // MARK: - Benchmarks (run in release: swift run -c release planner-benchmarks)
    .executableTarget(name: "planner-benchmarks", dependencies: ["ShardPlan"], path: "Benchmarks/PlannerBenchmarks"),

    // MARK: - Tests
    .testTarget(name: "ShardPlanTests", dependencies: ["ShardPlan", "_ShardPlanTestSupport"], exclude: ["Fixtures"]),
    .testTarget(name: "ShardPlanHwlocTests", dependencies: ["ShardPlanHwloc", "ShardPlan", "_ShardPlanTestSupport"]),
    .testTarget(name: "ShardPlanHubTests", dependencies: ["ShardPlanHub", "ShardPlan", "_ShardPlanTestSupport"]),
    .testTarget(
      name: "ShardPlanCLITests",
      dependencies: ["ShardPlan", "_ShardPlanTestSupport"],
      exclude: ["Snapshots"]
    ),
  ]
)
