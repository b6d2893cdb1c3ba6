# Periscope images: `docker build --target agent -t periscope-agent .` and `--target collector`.
# Every base is an ARG so that a build without a registry can point them at local images of the same shape
# (scripts/images.sh builds such stand-ins offline and builds this file unchanged).
ARG SDK_IMAGE=mcr.microsoft.com/dotnet/sdk:10.0-noble-aot
ARG RUNTIME_DEPS_IMAGE=mcr.microsoft.com/dotnet/runtime-deps:10.0-noble-chiseled
ARG ASPNET_IMAGE=mcr.microsoft.com/dotnet/aspnet:10.0-noble-chiseled

# --- Sources, restored once for both programs -----------------------------------------------------------------
FROM ${SDK_IMAGE} AS restore
ENV DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
WORKDIR /src
COPY global.json Directory.Build.props Directory.Packages.props .editorconfig ./
COPY agent/Periscope.Bundle/Periscope.Bundle.csproj agent/Periscope.Bundle/
COPY agent/Periscope.Agent/Periscope.Agent.csproj agent/Periscope.Agent/
COPY collector/Periscope.Collector/Periscope.Collector.csproj collector/Periscope.Collector/
RUN dotnet restore agent/Periscope.Agent/Periscope.Agent.csproj -r linux-x64 -p:PublishAot=true \
 && dotnet restore collector/Periscope.Collector/Periscope.Collector.csproj
COPY agent/ agent/
COPY collector/ collector/

# --- The agent: one native (AOT) executable --------------------------------------------------------------------
FROM restore AS agent-build
RUN dotnet publish agent/Periscope.Agent/Periscope.Agent.csproj -c Release -r linux-x64 --no-restore \
      -p:PublishAot=true -o /out \
 && rm -f /out/*.dbg /out/*.pdb /out/*.xml

# --- The collector: framework-dependent, on the ASP.NET runtime of its base -------------------------------------
FROM restore AS collector-build
RUN dotnet publish collector/Periscope.Collector/Periscope.Collector.csproj -c Release --no-restore \
      -p:UseAppHost=false -o /out \
 && rm -f /out/*.pdb /out/*.xml

# --- The node tools the agent's collectors run, with the libraries they load -----------------------------------
# A chiseled base has no package manager, so they are installed in the SDK image (the same distribution as the
# runtime base) and copied over with their library closure: journalctl (reads the node's journal files; systemd 252
# or later reads compact journals), iptables-save/ip6tables-save in the nft and legacy flavours, nft, setsid.
FROM ${SDK_IMAGE} AS host-tools
COPY deploy/image/host-tools.sh /usr/local/bin/host-tools.sh
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends systemd iptables nftables util-linux \
 && sh /usr/local/bin/host-tools.sh /out \
 && rm -rf /var/lib/apt/lists/*

# --- Agent image: the DaemonSet's container (runs as root with the capabilities the manifest grants) ------------
FROM ${RUNTIME_DEPS_IMAGE} AS agent
COPY --from=host-tools /out/ /
COPY --from=agent-build /out/periscope-agent /app/periscope-agent
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    DOTNET_gcServer=0
# Reading the node's files takes uid 0; privileges come only from the DaemonSet's securityContext.
USER 0:0
WORKDIR /app
EXPOSE 9469
ENTRYPOINT ["/app/periscope-agent"]
CMD ["run"]

# --- Collector image: non-root -----------------------------------------------------------------------------------
FROM ${ASPNET_IMAGE} AS collector
COPY --from=collector-build /out/ /app/
# 1654 is the official .NET images' "app" user (APP_UID); numeric so that runAsNonRoot can verify it.
USER 1654:1654
WORKDIR /app
EXPOSE 8080
ENTRYPOINT ["dotnet", "/app/periscope-collector.dll"]
CMD ["serve"]
