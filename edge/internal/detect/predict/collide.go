package predict

// aabb is an axis-aligned box in world coordinates.
type aabb struct{ minX, minY, minZ, maxX, maxY, maxZ float64 }

func (b aabb) offset(x, y, z float64) aabb {
	return aabb{b.minX + x, b.minY + y, b.minZ + z, b.maxX + x, b.maxY + y, b.maxZ + z}
}

func (b aabb) intersects(o aabb) bool {
	return b.minX < o.maxX && b.maxX > o.minX && b.minY < o.maxY && b.maxY > o.minY && b.minZ < o.maxZ && b.maxZ > o.minZ
}

// collisionEpsilon is vanilla's tolerance in shape collisions from 1.14
// (Shapes.collide ignores offsets below 1.0E-7); older clients compare
// exactly, and the difference is far below any threshold.
const collisionEpsilon = 1e-7

// clipY limits a vertical move of b by dy against boxes (vanilla's
// calculateYOffset: only boxes overlapping b horizontally stop it).
func clipY(boxes []aabb, b aabb, dy float64) float64 {
	if dy == 0 {
		return 0
	}
	for i := range boxes {
		o := &boxes[i]
		if o.maxX <= b.minX || o.minX >= b.maxX || o.maxZ <= b.minZ || o.minZ >= b.maxZ {
			continue
		}
		if dy > 0 && o.minY >= b.maxY-collisionEpsilon {
			dy = min(dy, o.minY-b.maxY)
		} else if dy < 0 && o.maxY <= b.minY+collisionEpsilon {
			dy = max(dy, o.maxY-b.minY)
		}
	}
	if dy < collisionEpsilon && dy > -collisionEpsilon {
		return 0
	}
	return dy
}

func clipX(boxes []aabb, b aabb, dx float64) float64 {
	if dx == 0 {
		return 0
	}
	for i := range boxes {
		o := &boxes[i]
		if o.maxY <= b.minY || o.minY >= b.maxY || o.maxZ <= b.minZ || o.minZ >= b.maxZ {
			continue
		}
		if dx > 0 && o.minX >= b.maxX-collisionEpsilon {
			dx = min(dx, o.minX-b.maxX)
		} else if dx < 0 && o.maxX <= b.minX+collisionEpsilon {
			dx = max(dx, o.maxX-b.minX)
		}
	}
	if dx < collisionEpsilon && dx > -collisionEpsilon {
		return 0
	}
	return dx
}

func clipZ(boxes []aabb, b aabb, dz float64) float64 {
	if dz == 0 {
		return 0
	}
	for i := range boxes {
		o := &boxes[i]
		if o.maxY <= b.minY || o.minY >= b.maxY || o.maxX <= b.minX || o.minX >= b.maxX {
			continue
		}
		if dz > 0 && o.minZ >= b.maxZ-collisionEpsilon {
			dz = min(dz, o.minZ-b.maxZ)
		} else if dz < 0 && o.maxZ <= b.minZ+collisionEpsilon {
			dz = max(dz, o.maxZ-b.minZ)
		}
	}
	if dz < collisionEpsilon && dz > -collisionEpsilon {
		return 0
	}
	return dz
}

// collideAxes moves b by (dx, dy, dz) against boxes: y first, then x and z
// (from 1.14 the smaller horizontal component first, zFirst).
func collideAxes(boxes []aabb, b aabb, dx, dy, dz float64, zFirst bool) (float64, float64, float64) {
	dy = clipY(boxes, b, dy)
	b = b.offset(0, dy, 0)
	if zFirst {
		dz = clipZ(boxes, b, dz)
		b = b.offset(0, 0, dz)
		dx = clipX(boxes, b, dx)
	} else {
		dx = clipX(boxes, b, dx)
		b = b.offset(dx, 0, 0)
		dz = clipZ(boxes, b, dz)
	}
	return dx, dy, dz
}

// collide is vanilla's Entity.move collision with step-up: when the plain
// move is stopped horizontally and the entity is on the ground (or lands
// this tick), it tries the move raised by the step height and keeps it when
// it goes further horizontally, settling back down afterwards.
func collide(boxes []aabb, b aabb, dx, dy, dz, step float64, onGround, modernOrder bool) (float64, float64, float64) {
	zFirst := modernOrder && abs(dx) < abs(dz)
	cx, cy, cz := collideAxes(boxes, b, dx, dy, dz, zFirst)
	if step <= 0 || (abs(cx-dx) < collisionEpsilon && abs(cz-dz) < collisionEpsilon) || !(onGround || (cy != dy && dy < 0)) {
		return cx, cy, cz
	}
	// Up by the step with the horizontal move, or straight up first.
	sx, sy, sz := collideAxes(boxes, b, dx, step, dz, zFirst)
	uy := clipY(boxes, b, step)
	if uy < step {
		ub := b.offset(0, uy, 0)
		tx, _, tz := collideAxes(boxes, ub, dx, 0, dz, zFirst)
		if tx*tx+tz*tz > sx*sx+sz*sz {
			sx, sy, sz = tx, uy, tz
		}
	}
	if sx*sx+sz*sz <= cx*cx+cz*cz {
		return cx, cy, cz
	}
	down := clipY(boxes, b.offset(sx, sy, sz), -sy+dy)
	return sx, sy + down, sz
}

func abs(f float64) float64 {
	if f < 0 {
		return -f
	}
	return f
}
