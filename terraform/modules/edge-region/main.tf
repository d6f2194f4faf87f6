# One region's edges: stateless tasks on ECS Fargate behind a network load
# balancer. Everything an edge knows comes from environment variables set
# here (and secrets injected by ECS), so a task is replaced, scaled in or
# out, or moved at any time; nothing is kept on it.

locals {
  name = "rg-${var.environment}-${var.rustguard_region}"

  # Minecraft's port: what players and the accelerator connect to.
  player_port = 25565

  # The load balancer's health check: /readyz answers 503 while an edge
  # drains or has no reachable backend, so two failures 10 s apart take it
  # out of rotation within 20 s.
  health_check_interval  = 10
  health_check_threshold = 2

  # Longer than the edge's default drain (proxy.shutdown_timeout, 10 s):
  # the target leaves the load balancer before the task is told to stop,
  # and the container gets this long after SIGTERM before SIGKILL.
  drain_seconds = 30

  # The edge holds two sockets per player; LimitNOFILE in the VM unit is
  # the same (docs/CONFIG.md: proxy.max_connections' upper bound).
  nofile_limit = 1048576

  tags = merge(var.tags, {
    "rustguard:region"      = var.rustguard_region
    "rustguard:environment" = var.environment
  })

  # The load balancer's addresses are inside the VPC, and only it can
  # reach the player port (security groups below), so PROXY v2 headers are
  # trusted from the VPC's ranges and from nothing else.
  trusted_proxies = join(",", [for a in data.aws_vpc.this.cidr_block_associations : a.cidr_block])

  consul_agent = var.consul.agent != null
  consul_addr  = local.consul_agent ? "127.0.0.1:8500" : var.consul.http_addr

  # Variables the module owns. With a Consul agent in the task the edge
  # registers itself (the agent checks /readyz on the task's loopback);
  # against a remote agent it must not, as that agent would check its own.
  owned_env = { for k, v in {
    RUSTGUARD_REGION          = var.rustguard_region
    RUSTGUARD_LISTEN_ADDR     = "0.0.0.0:${local.player_port}"
    RUSTGUARD_ADMIN_ADDR      = "0.0.0.0:${var.admin_port}"
    RUSTGUARD_TRUSTED_PROXIES = local.trusted_proxies
    RUSTGUARD_LOG_FORMAT      = "json"
    RUSTGUARD_BACKEND_ADDR    = local.consul_addr == "" ? var.backend_address : ""
    RUSTGUARD_BACKEND_SERVICE = local.consul_addr == "" ? "" : var.consul.backend_service
    RUSTGUARD_CONSUL_REGISTER = local.consul_addr == "" ? "" : tostring(local.consul_agent)
    CONSUL_HTTP_ADDR          = local.consul_addr
    RUSTGUARD_REDIS_URL       = var.redis_url
    OTEL_SERVICE_NAME         = "rustguard-edge"
    # cloud.region comes from RUSTGUARD_REGION inside the edge.
    OTEL_RESOURCE_ATTRIBUTES    = "deployment.environment.name=${var.environment}"
    OTEL_EXPORTER_OTLP_ENDPOINT = var.otlp_endpoint
  } : k => v if v != "" }

  edge_env = merge(var.extra_env, local.owned_env)

  edge_container = merge({
    name      = "edge"
    image     = "${var.image}:${var.edge_version}"
    essential = true
    portMappings = [
      { name = "players", containerPort = local.player_port, protocol = "tcp" },
      { name = "admin", containerPort = var.admin_port, protocol = "tcp" },
    ]
    environment            = [for k in sort(keys(local.edge_env)) : { name = k, value = local.edge_env[k] }]
    secrets                = [for k in sort(keys(var.secrets)) : { name = k, valueFrom = var.secrets[k] }]
    readonlyRootFilesystem = true
    stopTimeout            = local.drain_seconds
    ulimits                = [{ name = "nofile", softLimit = local.nofile_limit, hardLimit = local.nofile_limit }]
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = aws_cloudwatch_log_group.edge.name
        awslogs-region        = var.region
        awslogs-stream-prefix = "edge"
      }
    }
    }, local.consul_agent ? {
    dependsOn = [{ containerName = "consul-agent", condition = "START" }]
  } : {})

  # A Consul client agent beside the edge: it joins the region's
  # datacenter, serves the edge on the task's loopback, and runs the
  # edge's /readyz check. Its configuration (gossip key, ACL token) comes
  # from a secret as CONSUL_LOCAL_CONFIG, which the Consul image reads.
  agent_containers = local.consul_agent ? [{
    name      = "consul-agent"
    image     = var.consul.agent.image
    essential = true
    command = concat(
      ["agent", "-datacenter=${var.consul.agent.datacenter}", "-client=127.0.0.1", "-data-dir=/consul/data"],
      [for j in var.consul.agent.retry_join : "-retry-join=${j}"]
    )
    secrets = var.consul.agent.config_secret_arn == "" ? [] : [{ name = "CONSUL_LOCAL_CONFIG", valueFrom = var.consul.agent.config_secret_arn }]
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = aws_cloudwatch_log_group.edge.name
        awslogs-region        = var.region
        awslogs-stream-prefix = "consul-agent"
      }
    }
  }] : []

  secret_arns = distinct(concat(values(var.secrets), local.consul_agent && try(var.consul.agent.config_secret_arn, "") != "" ? [var.consul.agent.config_secret_arn] : []))
}

data "aws_partition" "current" {}

data "aws_vpc" "this" {
  region = var.region
  id     = var.vpc_id
}

resource "aws_cloudwatch_log_group" "edge" {
  region            = var.region
  name              = "/rustguard/${var.environment}/${var.rustguard_region}/edge"
  retention_in_days = var.log_retention_days
  tags              = local.tags
}

# --- network -----------------------------------------------------------------

resource "aws_security_group" "lb" {
  region      = var.region
  name        = "${local.name}-lb"
  description = "RustGuard edge load balancer: players in on ${local.player_port}"
  vpc_id      = var.vpc_id
  tags        = local.tags
}

resource "aws_vpc_security_group_ingress_rule" "lb_players" {
  for_each = toset(var.player_cidrs)

  region            = var.region
  security_group_id = aws_security_group.lb.id
  description       = "Minecraft players"
  cidr_ipv4         = each.value
  ip_protocol       = "tcp"
  from_port         = local.player_port
  to_port           = local.player_port
  tags              = local.tags
}

resource "aws_vpc_security_group_egress_rule" "lb_to_edges" {
  for_each = toset([tostring(local.player_port), tostring(var.admin_port)])

  region                       = var.region
  security_group_id            = aws_security_group.lb.id
  description                  = "Players and health checks to the edges"
  referenced_security_group_id = aws_security_group.task.id
  ip_protocol                  = "tcp"
  from_port                    = tonumber(each.value)
  to_port                      = tonumber(each.value)
  tags                         = local.tags
}

resource "aws_security_group" "task" {
  region      = var.region
  name        = "${local.name}-edge"
  description = "RustGuard edge tasks: players only from the load balancer, admin only from the VPC"
  vpc_id      = var.vpc_id
  tags        = local.tags
}

# Only the load balancer reaches the player port, which is what makes the
# VPC-wide PROXY header trust safe: nothing else in the VPC can connect
# there and claim a player's address.
resource "aws_vpc_security_group_ingress_rule" "task_players" {
  region                       = var.region
  security_group_id            = aws_security_group.task.id
  description                  = "Players (PROXY v2) from the load balancer"
  referenced_security_group_id = aws_security_group.lb.id
  ip_protocol                  = "tcp"
  from_port                    = local.player_port
  to_port                      = local.player_port
  tags                         = local.tags
}

resource "aws_vpc_security_group_ingress_rule" "task_admin" {
  for_each = toset([for a in data.aws_vpc.this.cidr_block_associations : a.cidr_block])

  region            = var.region
  security_group_id = aws_security_group.task.id
  description       = "Admin (/readyz, /metrics) from the VPC only"
  cidr_ipv4         = each.value
  ip_protocol       = "tcp"
  from_port         = var.admin_port
  to_port           = var.admin_port
  tags              = local.tags
}

resource "aws_vpc_security_group_ingress_rule" "task_consul_gossip" {
  for_each = local.consul_agent ? toset(flatten([for a in data.aws_vpc.this.cidr_block_associations : [for p in ["tcp", "udp"] : "${p} ${a.cidr_block}"]])) : toset([])

  region            = var.region
  security_group_id = aws_security_group.task.id
  description       = "Consul LAN gossip for the agent in the task"
  cidr_ipv4         = split(" ", each.value)[1]
  ip_protocol       = split(" ", each.value)[0]
  from_port         = 8301
  to_port           = 8301
  tags              = local.tags
}

# Out to the backends, Consul, Redis, the OTLP endpoint and the image
# registry; which of them a region has is not known here.
resource "aws_vpc_security_group_egress_rule" "task_out" {
  region            = var.region
  security_group_id = aws_security_group.task.id
  description       = "Backends, Consul, Redis, OTLP, image registry"
  cidr_ipv4         = "0.0.0.0/0"
  ip_protocol       = "-1"
  tags              = local.tags
}

# --- load balancer -----------------------------------------------------------

resource "aws_eip" "lb" {
  count = var.static_ips ? length(var.lb_subnet_ids) : 0

  region = var.region
  domain = "vpc"
  tags   = merge(local.tags, { Name = "${local.name}-${count.index}" })
}

resource "aws_lb" "players" {
  region             = var.region
  name               = local.name
  load_balancer_type = "network"
  internal           = var.internal_lb
  # A security group on the load balancer is what lets the accelerator
  # preserve client addresses for it.
  security_groups                  = [aws_security_group.lb.id]
  enable_cross_zone_load_balancing = true
  subnets                          = var.static_ips ? null : var.lb_subnet_ids

  dynamic "subnet_mapping" {
    for_each = var.static_ips ? var.lb_subnet_ids : []
    content {
      subnet_id     = subnet_mapping.value
      allocation_id = aws_eip.lb[subnet_mapping.key].id
    }
  }

  tags = local.tags
}

resource "aws_lb_target_group" "players" {
  region      = var.region
  name        = local.name
  port        = local.player_port
  protocol    = "TCP"
  target_type = "ip"
  vpc_id      = var.vpc_id

  # The edge reads the player's address from the PROXY v2 header (trusted
  # from the VPC's ranges: RUSTGUARD_TRUSTED_PROXIES). Preserving the
  # client address instead would make the header's source a player's
  # address, which the edge must not trust.
  proxy_protocol_v2  = true
  preserve_client_ip = "false"

  deregistration_delay   = local.drain_seconds
  connection_termination = true

  health_check {
    enabled             = true
    protocol            = "HTTP"
    port                = tostring(var.admin_port)
    path                = "/readyz"
    matcher             = "200"
    interval            = local.health_check_interval
    healthy_threshold   = local.health_check_threshold
    unhealthy_threshold = local.health_check_threshold
  }

  tags = local.tags
}

resource "aws_lb_listener" "players" {
  region            = var.region
  load_balancer_arn = aws_lb.players.arn
  port              = 25565
  protocol          = "TCP"

  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.players.arn
  }

  tags = local.tags
}

# --- tasks -------------------------------------------------------------------

resource "aws_iam_role" "execution" {
  name = "${local.name}-edge-execution"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "ecs-tasks.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })
  tags = local.tags
}

resource "aws_iam_role_policy_attachment" "execution" {
  role       = aws_iam_role.execution.name
  policy_arn = "arn:${data.aws_partition.current.partition}:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
}

# ECS reads the secrets (and only those) when it starts a task.
resource "aws_iam_role_policy" "execution_secrets" {
  count = length(local.secret_arns) > 0 ? 1 : 0

  name = "read-edge-secrets"
  role = aws_iam_role.execution.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect   = "Allow"
      Action   = ["secretsmanager:GetSecretValue", "ssm:GetParameters"]
      Resource = local.secret_arns
    }]
  })
}

resource "aws_ecs_cluster" "this" {
  region = var.region
  name   = local.name

  setting {
    name  = "containerInsights"
    value = "enabled"
  }

  tags = local.tags
}

resource "aws_ecs_task_definition" "edge" {
  region                   = var.region
  family                   = "${local.name}-edge"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.task_cpu
  memory                   = var.task_memory
  execution_role_arn       = aws_iam_role.execution.arn
  container_definitions    = jsonencode(concat([local.edge_container], local.agent_containers))

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = var.cpu_architecture
  }

  tags = local.tags

  lifecycle {
    precondition {
      condition     = var.min_instances <= var.max_instances
      error_message = "min_instances must not exceed max_instances."
    }
    precondition {
      condition     = local.consul_addr != "" || var.backend_address != ""
      error_message = "Without Consul (consul.http_addr or consul.agent) the edges need backend_address."
    }
    precondition {
      condition     = !(var.redis_url != "" && contains(keys(var.secrets), "RUSTGUARD_REDIS_URL"))
      error_message = "Give Redis either as redis_url or as the secret RUSTGUARD_REDIS_URL, not both."
    }
    precondition {
      condition     = length(setintersection(keys(var.extra_env), keys(local.owned_env))) == 0
      error_message = "extra_env sets variables this module owns: ${join(", ", setintersection(keys(var.extra_env), keys(local.owned_env)))}."
    }
  }
}

resource "aws_ecs_service" "edge" {
  region                            = var.region
  name                              = "rustguard-edge"
  cluster                           = aws_ecs_cluster.this.id
  task_definition                   = aws_ecs_task_definition.edge.arn
  launch_type                       = "FARGATE"
  desired_count                     = var.min_instances
  health_check_grace_period_seconds = 30
  # Rolling replacement: new tasks become healthy before old ones drain.
  deployment_minimum_healthy_percent = 100
  deployment_maximum_percent         = 200
  propagate_tags                     = "SERVICE"
  enable_ecs_managed_tags            = true

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  network_configuration {
    subnets          = var.task_subnet_ids
    security_groups  = [aws_security_group.task.id]
    assign_public_ip = var.assign_public_ip
  }

  load_balancer {
    target_group_arn = aws_lb_target_group.players.arn
    container_name   = "edge"
    container_port   = local.player_port
  }

  tags = local.tags

  # Autoscaling owns the task count after creation.
  lifecycle {
    ignore_changes = [desired_count]
  }

  depends_on = [aws_lb_listener.players, aws_iam_role_policy_attachment.execution]
}

resource "aws_appautoscaling_target" "edge" {
  region             = var.region
  service_namespace  = "ecs"
  resource_id        = "service/${aws_ecs_cluster.this.name}/${aws_ecs_service.edge.name}"
  scalable_dimension = "ecs:service:DesiredCount"
  min_capacity       = var.min_instances
  max_capacity       = var.max_instances
  tags               = local.tags
}

# Scale on CPU: the edge's cost per player is mostly CPU (inspection,
# detection). Scaling in stops tasks with players on them; the edge drains
# them with a disconnect message (SIGTERM, then stopTimeout).
resource "aws_appautoscaling_policy" "cpu" {
  region             = var.region
  name               = "${local.name}-cpu"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.edge.service_namespace
  resource_id        = aws_appautoscaling_target.edge.resource_id
  scalable_dimension = aws_appautoscaling_target.edge.scalable_dimension

  target_tracking_scaling_policy_configuration {
    target_value       = var.cpu_target_percent
    scale_out_cooldown = 60
    # Slow to scale in: every task stopped disconnects its players.
    scale_in_cooldown = 600

    predefined_metric_specification {
      predefined_metric_type = "ECSServiceAverageCPUUtilization"
    }
  }
}
